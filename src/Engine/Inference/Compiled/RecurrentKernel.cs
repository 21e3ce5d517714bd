using System.Runtime.CompilerServices;
using System.Globalization;
using System.Runtime.Intrinsics;
using Engine.Native;

namespace Engine.Inference.Compiled;

/// <summary>
/// ONNX <c>GRU</c> and <c>LSTM</c> (forward, layout 0, default activations) over a whole sequence
/// <c>X[T, B, I]</c>: per step and batch row, the gate pre-activations come from packed dense weights over
/// the concatenated <c>[x_t; h]</c> (one broadcast-FMA pass), then vectorized sigmoid/tanh updates.
/// Writes <c>Y[T, 1, B, H]</c>, <c>Y_h[1, B, H]</c> and (LSTM) <c>Y_c[1, B, H]</c> when the graph uses them.
/// </summary>
internal sealed unsafe class RecurrentKernel : Kernel
{
    private readonly bool _lstm;
    private readonly bool _linearBeforeReset;
    private readonly int _steps;
    private readonly int _batch;
    private readonly int _inputs;
    private readonly int _hidden;
    private readonly DenseWeights _gates;     // LSTM: [x; h] → 4H (i o f c). GRU: [x; h] → 2H (z r).
    private readonly DenseWeights? _candidateX; // GRU: x → H (Wh, Wbh)
    private readonly DenseWeights? _candidateH; // GRU: h (or r ⊙ h) → H (Rh, Rbh)
    private readonly AlignedBuffer<float> _scratch;
    private readonly float* _xh;
    private readonly float* _g;
    private readonly float* _cx;
    private readonly float* _ch;
    private readonly float* _rh;
    private readonly float* _h;
    private readonly float* _c;
    private readonly float* _x;
    private readonly float* _initialH;
    private readonly float* _initialC;
    private readonly float* _y;
    private readonly float* _yH;
    private readonly float* _yC;

    /// <param name="lstm">LSTM (gates i, o, f, c) rather than GRU (gates z, r, h).</param>
    /// <param name="w">W [G·H, I] for the one direction.</param>
    /// <param name="r">R [G·H, H].</param>
    /// <param name="bias">B [2·G·H] (Wb then Rb), or null for zeros.</param>
    /// <param name="linearBeforeReset">GRU's linear_before_reset.</param>
    /// <param name="steps">T.</param>
    /// <param name="batch">B.</param>
    /// <param name="inputs">I.</param>
    /// <param name="hidden">H.</param>
    /// <param name="x">X.</param>
    /// <param name="initialH">initial_h or null for zeros.</param>
    /// <param name="initialC">initial_c or null for zeros.</param>
    /// <param name="y">Y or null.</param>
    /// <param name="yH">Y_h or null.</param>
    /// <param name="yC">Y_c or null.</param>
    public RecurrentKernel(bool lstm, float[] w, float[] r, float[]? bias, bool linearBeforeReset, int steps, int batch, int inputs, int hidden, float* x, float* initialH, float* initialC, float* y, float* yH, float* yC)
    {
        _lstm = lstm;
        _linearBeforeReset = linearBeforeReset;
        _steps = steps;
        _batch = batch;
        _inputs = inputs;
        _hidden = hidden;
        int gates = lstm ? 4 : 3;
        int combined = lstm ? 4 : 2;
        int k = inputs + hidden;
        var wxh = new float[combined * hidden * k];
        var b = new float[combined * hidden];
        for (int o = 0; o < combined * hidden; o++)
        {
            Array.Copy(w, o * inputs, wxh, o * k, inputs);
            Array.Copy(r, o * hidden, wxh, (o * k) + inputs, hidden);
            b[o] = bias is null ? 0f : bias[o] + bias[(gates * hidden) + o];
        }

        _gates = new DenseWeights(wxh, b, combined * hidden, k);
        if (!lstm)
        {
            int h0 = 2 * hidden;
            _candidateX = new DenseWeights(w[(h0 * inputs)..((h0 + hidden) * inputs)], bias?[h0..(h0 + hidden)], hidden, inputs);
            _candidateH = new DenseWeights(r[(h0 * hidden)..((h0 + hidden) * hidden)], bias?[((gates * hidden) + h0)..((gates * hidden) + h0 + hidden)], hidden, hidden);
        }

        // [x; h] | gates | candidate x | candidate h | r ⊙ h | h state [B, H] | c state [B, H]
        int offset = 0;
        int Take(int n)
        {
            int at = offset;
            offset += (n + 15) / 16 * 16;
            return at;
        }

        int xhAt = Take(k), gAt = Take(gates * hidden), cxAt = Take(hidden), chAt = Take(hidden), rhAt = Take(hidden), hAt = Take(batch * hidden), cAt = Take(batch * hidden);
        _scratch = new AlignedBuffer<float>(offset);
        float* s = (float*)_scratch.Address;
        _xh = s + xhAt;
        _g = s + gAt;
        _cx = s + cxAt;
        _ch = s + chAt;
        _rh = s + rhAt;
        _h = s + hAt;
        _c = s + cAt;
        _x = x;
        _initialH = initialH;
        _initialC = initialC;
        _y = y;
        _yH = yH;
        _yC = yC;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        int hidden = _hidden;
        int stateBytes = _batch * hidden * sizeof(float);
        if (_initialH != null)
        {
            Buffer.MemoryCopy(_initialH, _h, stateBytes, stateBytes);
        }
        else
        {
            new Span<float>(_h, _batch * hidden).Clear();
        }

        if (_lstm)
        {
            if (_initialC != null)
            {
                Buffer.MemoryCopy(_initialC, _c, stateBytes, stateBytes);
            }
            else
            {
                new Span<float>(_c, _batch * hidden).Clear();
            }
        }

        for (int t = 0; t < _steps; t++)
        {
            for (int b = 0; b < _batch; b++)
            {
                float* h = _h + (b * hidden);
                Buffer.MemoryCopy(_x + (((t * _batch) + b) * _inputs), _xh, _inputs * sizeof(float), _inputs * sizeof(float));
                Buffer.MemoryCopy(h, _xh + _inputs, hidden * sizeof(float), hidden * sizeof(float));
                if (_lstm)
                {
                    LstmStep(h, _c + (b * hidden));
                }
                else
                {
                    GruStep(h);
                }

                if (_y != null)
                {
                    Buffer.MemoryCopy(h, _y + (((t * _batch) + b) * hidden), hidden * sizeof(float), hidden * sizeof(float));
                }
            }
        }

        if (_yH != null)
        {
            Buffer.MemoryCopy(_h, _yH, stateBytes, stateBytes);
        }

        if (_yC != null)
        {
            Buffer.MemoryCopy(_c, _yC, stateBytes, stateBytes);
        }
    }

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"{(_lstm ? "lstm" : "gru")} {_steps} steps × {_batch} rows, {_inputs}→{_hidden}");

    protected override void ReleaseWeights()
    {
        _gates.Dispose();
        _candidateX?.Dispose();
        _candidateH?.Dispose();
        _scratch.Dispose();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    private void LstmStep(float* h, float* c)
    {
        int n = _hidden;
        float* g = _g;
        _gates.Row(_xh, g, Activation.None);
        Simd.Apply(g, g, 3 * n, Activation.Sigmoid);            // i, o, f
        Simd.Apply(g + (3 * n), g + (3 * n), n, Activation.Tanh); // c~
        float* i = g, o = g + n, f = g + (2 * n), cc = g + (3 * n);
        int k = 0;
        for (; k + 8 <= n; k += 8)
        {
            Vector256<float> cNew = (Vector256.Load(f + k) * Vector256.Load(c + k)) + (Vector256.Load(i + k) * Vector256.Load(cc + k));
            Vector256.Store(cNew, c + k);
            Vector256.Store(Vector256.Load(o + k) * Simd.Tanh(cNew), h + k);
        }

        for (; k < n; k++)
        {
            c[k] = (f[k] * c[k]) + (i[k] * cc[k]);
            h[k] = o[k] * Simd.Tanh(c[k]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    private void GruStep(float* h)
    {
        int n = _hidden;
        float* g = _g;
        _gates.Row(_xh, g, Activation.Sigmoid); // z, r
        float* z = g, r = g + n;
        _candidateX!.Row(_xh, _cx, Activation.None);
        if (_linearBeforeReset)
        {
            _candidateH!.Row(h, _ch, Activation.None);
            for (int k = 0; k < n; k++)
            {
                _ch[k] = _cx[k] + (r[k] * _ch[k]);
            }
        }
        else
        {
            for (int k = 0; k < n; k++)
            {
                _rh[k] = r[k] * h[k];
            }

            _candidateH!.Row(_rh, _ch, Activation.None);
            for (int k = 0; k < n; k++)
            {
                _ch[k] += _cx[k];
            }
        }

        Simd.Apply(_ch, _ch, n, Activation.Tanh);
        for (int k = 0; k < n; k++)
        {
            h[k] = ((1f - z[k]) * _ch[k]) + (z[k] * h[k]);
        }
    }
}
