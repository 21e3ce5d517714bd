using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Engine.Native;

namespace Engine.Inference.Compiled;

/// <summary>
/// The weights of one fully connected layer, <c>y[n] = act(b[n] + Σ_k x[k]·W[n, k])</c>, packed once into
/// pinned, 64-byte-aligned memory in the layout its shape computes fastest with:
/// <list type="bullet">
/// <item>wide layers (N &gt; 4): <c>[K, N rounded up to a vector]</c>, so each input broadcasts into
/// fused multiply-adds over whole vectors of outputs, with two independent accumulator sets (even and odd k)
/// to keep both FMA pipes busy;</item>
/// <item>narrow layers (N ≤ 4): <c>[N, K]</c>, one vectorized dot product per output.</item>
/// </list>
/// </summary>
/// <remarks>
/// <see cref="Row"/> allocates nothing and touches only the weights, one input row and one output row.
/// Not thread-safe to dispose while in use; otherwise read-only and callable from any thread.
/// </remarks>
internal sealed unsafe class DenseWeights : IDisposable
{
    private readonly AlignedBuffer<float> _weights;
    private readonly AlignedBuffer<float> _bias;
    private readonly float* _w;
    private readonly float* _b;
    private readonly int _stride;
    private readonly AlignedBuffer<float> _scratch;
    private readonly float* _tail;

    /// <summary>Packs <paramref name="w"/> (row-major [N, K]: output n's weights contiguous) and <paramref name="bias"/> (N, or null for zeros).</summary>
    public DenseWeights(float[] w, float[]? bias, int n, int k)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (w.Length != n * k || (bias is not null && bias.Length != n))
        {
            throw new ArgumentException($"Dense weights are {w.Length} floats and bias {bias?.Length ?? 0} for N={n}, K={k}.");
        }

        N = n;
        K = k;
        Narrow = n <= 4;
        int width = Simd.Width;
        int padded = (n + width - 1) / width * width;
        _stride = Narrow ? k : padded;
        _weights = new AlignedBuffer<float>(Math.Max(1, Narrow ? n * k : k * padded));
        _bias = new AlignedBuffer<float>(Math.Max(1, padded));
        Span<float> pw = _weights.Span;
        for (int o = 0; o < n; o++)
        {
            for (int i = 0; i < k; i++)
            {
                pw[Narrow ? (o * k) + i : (i * padded) + o] = w[(o * k) + i];
            }
        }

        bias?.CopyTo(_bias.Span);
        _w = (float*)_weights.Address;
        _b = (float*)_bias.Address;
        _scratch = new AlignedBuffer<float>(16);
        _tail = (float*)_scratch.Address;
    }

    /// <summary>Outputs.</summary>
    public int N { get; }

    /// <summary>Inputs.</summary>
    public int K { get; }

    /// <summary>Whether the narrow (dot product) layout is used.</summary>
    public bool Narrow { get; }

    /// <summary>Bytes of packed weights and bias.</summary>
    public long Bytes => _weights.SizeInBytes + _bias.SizeInBytes;

    /// <summary>y[0..N) = act(bias + W·x[0..K)). <paramref name="x"/> and <paramref name="y"/> must not overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public void Row(float* x, float* y, Activation act)
    {
        if (Narrow)
        {
            for (int o = 0; o < N; o++)
            {
                y[o] = Simd.Apply(_b[o] + Simd.Dot(x, _w + (o * K), K), act);
            }
        }
        else
        {
            // ReLU is one instruction and is applied in registers before the store; the other activations
            // call into exp, which would make the JIT spill the accumulators, so they run as a second pass.
            bool relu = act == Activation.Relu;
            if (Simd.Use512)
            {
                Accumulate512(x, y, relu);
            }
            else
            {
                Accumulate256(x, y, relu);
            }

            if (act is not (Activation.None or Activation.Relu))
            {
                Simd.Apply(y, y, N, act);
            }
        }
    }

    // No calls in here: a call makes the JIT spill the accumulators inside the k loop (seen in the disassembly).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void Accumulate512(float* x, float* y, bool relu)
    {
        int n = 0;
        int stride = _stride;
        for (; n + 64 <= stride; n += 64)
        {
            float* w = _w + n;
            float* b = _b + n;
            Vector512<float> a0 = Vector512.Load(b), a1 = Vector512.Load(b + 16), a2 = Vector512.Load(b + 32), a3 = Vector512.Load(b + 48);
            // Four phases (k mod 4) of four accumulators: 16 independent FMA chains, so the k loop runs at
            // the FMA pipes' throughput instead of waiting on FMA latency (32 zmm registers hold them all).
            Vector512<float> c0 = Vector512<float>.Zero, c1 = c0, c2 = c0, c3 = c0;
            Vector512<float> d0 = c0, d1 = c0, d2 = c0, d3 = c0, e0 = c0, e1 = c0, e2 = c0, e3 = c0;
            int k = 0;
            for (; k + 4 <= K; k += 4)
            {
                float* r0 = w + (k * stride);
                float* r1 = r0 + stride;
                float* r2 = r1 + stride;
                float* r3 = r2 + stride;
                // One 16-byte load of x[k..k+4) broadcast to every 128-bit lane, then one in-lane shuffle per
                // input: the load ports are this loop's bottleneck, and four scalar broadcasts would be four
                // more loads (measured 15% slower on 64→64).
                Vector512<float> xq = Avx512F.BroadcastVector128ToVector512(x + k);
                Vector512<float> x0 = Avx512F.Shuffle(xq, xq, 0x00);
                Vector512<float> x1 = Avx512F.Shuffle(xq, xq, 0x55);
                Vector512<float> x2 = Avx512F.Shuffle(xq, xq, 0xAA);
                Vector512<float> x3 = Avx512F.Shuffle(xq, xq, 0xFF);
                a0 = Vector512.MultiplyAddEstimate(x0, Vector512.Load(r0), a0);
                a1 = Vector512.MultiplyAddEstimate(x0, Vector512.Load(r0 + 16), a1);
                a2 = Vector512.MultiplyAddEstimate(x0, Vector512.Load(r0 + 32), a2);
                a3 = Vector512.MultiplyAddEstimate(x0, Vector512.Load(r0 + 48), a3);
                c0 = Vector512.MultiplyAddEstimate(x1, Vector512.Load(r1), c0);
                c1 = Vector512.MultiplyAddEstimate(x1, Vector512.Load(r1 + 16), c1);
                c2 = Vector512.MultiplyAddEstimate(x1, Vector512.Load(r1 + 32), c2);
                c3 = Vector512.MultiplyAddEstimate(x1, Vector512.Load(r1 + 48), c3);
                d0 = Vector512.MultiplyAddEstimate(x2, Vector512.Load(r2), d0);
                d1 = Vector512.MultiplyAddEstimate(x2, Vector512.Load(r2 + 16), d1);
                d2 = Vector512.MultiplyAddEstimate(x2, Vector512.Load(r2 + 32), d2);
                d3 = Vector512.MultiplyAddEstimate(x2, Vector512.Load(r2 + 48), d3);
                e0 = Vector512.MultiplyAddEstimate(x3, Vector512.Load(r3), e0);
                e1 = Vector512.MultiplyAddEstimate(x3, Vector512.Load(r3 + 16), e1);
                e2 = Vector512.MultiplyAddEstimate(x3, Vector512.Load(r3 + 32), e2);
                e3 = Vector512.MultiplyAddEstimate(x3, Vector512.Load(r3 + 48), e3);
            }

            for (; k < K; k++)
            {
                float* r0 = w + (k * stride);
                var x0 = Vector512.Create(x[k]);
                a0 = Vector512.MultiplyAddEstimate(x0, Vector512.Load(r0), a0);
                a1 = Vector512.MultiplyAddEstimate(x0, Vector512.Load(r0 + 16), a1);
                a2 = Vector512.MultiplyAddEstimate(x0, Vector512.Load(r0 + 32), a2);
                a3 = Vector512.MultiplyAddEstimate(x0, Vector512.Load(r0 + 48), a3);
            }

            a0 += d0;
            a1 += d1;
            a2 += d2;
            a3 += d3;
            c0 += e0;
            c1 += e1;
            c2 += e2;
            c3 += e3;
            StoreRow(Relu(a0 + c0, relu), y + n, N - n);
            StoreRow(Relu(a1 + c1, relu), y + n + 16, N - n - 16);
            StoreRow(Relu(a2 + c2, relu), y + n + 32, N - n - 32);
            StoreRow(Relu(a3 + c3, relu), y + n + 48, N - n - 48);
        }

        for (; n < stride; n += 16)
        {
            float* w = _w + n;
            Vector512<float> a0 = Vector512.Load(_b + n), c0 = Vector512<float>.Zero;
            int k = 0;
            for (; k + 2 <= K; k += 2)
            {
                a0 = Vector512.MultiplyAddEstimate(Vector512.Create(x[k]), Vector512.Load(w + (k * stride)), a0);
                c0 = Vector512.MultiplyAddEstimate(Vector512.Create(x[k + 1]), Vector512.Load(w + ((k + 1) * stride)), c0);
            }

            if (k < K)
            {
                a0 = Vector512.MultiplyAddEstimate(Vector512.Create(x[k]), Vector512.Load(w + (k * stride)), a0);
            }

            StoreRow(Relu(a0 + c0, relu), y + n, N - n);
        }
    }

    // No calls in here: a call makes the JIT spill the accumulators inside the k loop (seen in the disassembly).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void Accumulate256(float* x, float* y, bool relu)
    {
        int n = 0;
        int stride = _stride;
        for (; n + 32 <= stride; n += 32)
        {
            float* w = _w + n;
            float* b = _b + n;
            Vector256<float> a0 = Vector256.Load(b), a1 = Vector256.Load(b + 8), a2 = Vector256.Load(b + 16), a3 = Vector256.Load(b + 24);
            Vector256<float> c0 = Vector256<float>.Zero, c1 = c0, c2 = c0, c3 = c0;
            int k = 0;
            for (; k + 2 <= K; k += 2)
            {
                float* r0 = w + (k * stride);
                float* r1 = r0 + stride;
                var x0 = Vector256.Create(x[k]);
                var x1 = Vector256.Create(x[k + 1]);
                a0 = Vector256.MultiplyAddEstimate(x0, Vector256.Load(r0), a0);
                a1 = Vector256.MultiplyAddEstimate(x0, Vector256.Load(r0 + 8), a1);
                a2 = Vector256.MultiplyAddEstimate(x0, Vector256.Load(r0 + 16), a2);
                a3 = Vector256.MultiplyAddEstimate(x0, Vector256.Load(r0 + 24), a3);
                c0 = Vector256.MultiplyAddEstimate(x1, Vector256.Load(r1), c0);
                c1 = Vector256.MultiplyAddEstimate(x1, Vector256.Load(r1 + 8), c1);
                c2 = Vector256.MultiplyAddEstimate(x1, Vector256.Load(r1 + 16), c2);
                c3 = Vector256.MultiplyAddEstimate(x1, Vector256.Load(r1 + 24), c3);
            }

            if (k < K)
            {
                float* r0 = w + (k * stride);
                var x0 = Vector256.Create(x[k]);
                a0 = Vector256.MultiplyAddEstimate(x0, Vector256.Load(r0), a0);
                a1 = Vector256.MultiplyAddEstimate(x0, Vector256.Load(r0 + 8), a1);
                a2 = Vector256.MultiplyAddEstimate(x0, Vector256.Load(r0 + 16), a2);
                a3 = Vector256.MultiplyAddEstimate(x0, Vector256.Load(r0 + 24), a3);
            }

            StoreRow(Relu(a0 + c0, relu), y + n, N - n);
            StoreRow(Relu(a1 + c1, relu), y + n + 8, N - n - 8);
            StoreRow(Relu(a2 + c2, relu), y + n + 16, N - n - 16);
            StoreRow(Relu(a3 + c3, relu), y + n + 24, N - n - 24);
        }

        for (; n < stride; n += 8)
        {
            float* w = _w + n;
            Vector256<float> a0 = Vector256.Load(_b + n), c0 = Vector256<float>.Zero;
            int k = 0;
            for (; k + 2 <= K; k += 2)
            {
                a0 = Vector256.MultiplyAddEstimate(Vector256.Create(x[k]), Vector256.Load(w + (k * stride)), a0);
                c0 = Vector256.MultiplyAddEstimate(Vector256.Create(x[k + 1]), Vector256.Load(w + ((k + 1) * stride)), c0);
            }

            if (k < K)
            {
                a0 = Vector256.MultiplyAddEstimate(Vector256.Create(x[k]), Vector256.Load(w + (k * stride)), a0);
            }

            StoreRow(Relu(a0 + c0, relu), y + n, N - n);
        }
    }

    // vmaxps with zero first: a NaN input stays NaN (as ORT's Relu), and no fix-up for signed zeros is emitted
    // (Vector512.Max's IEEE semantics cost a vfixupimmps per vector).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Relu(Vector512<float> v, bool relu) => relu ? Avx512F.Max(Vector512<float>.Zero, v) : v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Relu(Vector256<float> v, bool relu) => !relu ? v : Avx.IsSupported ? Avx.Max(Vector256<float>.Zero, v) : Vector256.Max(v, Vector256<float>.Zero);

    // Stores the first count lanes; a partial vector goes through the pinned scratch row, with no call.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreRow(Vector512<float> v, float* dst, int count)
    {
        if (count >= 16)
        {
            Vector512.Store(v, dst);
            return;
        }

        Vector512.Store(v, _tail);
        for (int i = 0; i < count; i++)
        {
            dst[i] = _tail[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreRow(Vector256<float> v, float* dst, int count)
    {
        if (count >= 8)
        {
            Vector256.Store(v, dst);
            return;
        }

        Vector256.Store(v, _tail);
        for (int i = 0; i < count; i++)
        {
            dst[i] = _tail[i];
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _weights.Dispose();
        _bias.Dispose();
        _scratch.Dispose();
    }
}
