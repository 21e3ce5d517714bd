using System.Globalization;
using System.Runtime.CompilerServices;
using Engine.Native;

namespace Engine.Inference.Compiled;

/// <summary>
/// ai.onnx.ml LinearClassifier with ONNX Runtime's semantics: raw scores <c>W·x + b</c> (one dense layer), the
/// label chosen from the raw scores (the first maximum with two or more classes; <c>score &gt; 0</c> with one),
/// then the post transform: element-wise logistic, softmax or softmax-zero with two or more classes, and with a
/// single score and two labels ORT's second-class expansion <c>[1 − p, p]</c>, p the score or its logistic.
/// </summary>
/// <remarks>Allocates nothing per run; the scratch row is pinned at construction. Not thread-safe (one scratch row).</remarks>
internal sealed unsafe class LinearClassifierKernel : Kernel
{
    private readonly DenseWeights _weights;
    private readonly AlignedBuffer<float> _scratch;
    private readonly float* _s;
    private readonly float[] _labels;
    private readonly float* _x;
    private readonly float* _scores;
    private readonly float* _label;
    private readonly int _rows;
    private readonly PostTransform _transform;
    private readonly string _origin;

    /// <summary>
    /// <paramref name="labels"/>: the label value written for each class (int64 labels as their value, string
    /// labels as their index), two for a single-score model (negative, positive).
    /// </summary>
    public LinearClassifierKernel(DenseWeights weights, float[] labels, PostTransform transform, float* x, float* scores, float* label, int rows, string origin)
    {
        _weights = weights;
        _labels = labels;
        _transform = transform;
        _x = x;
        _scores = scores;
        _label = label;
        _rows = rows;
        _origin = origin;
        _scratch = new AlignedBuffer<float>(Math.Max(16, weights.N));
        _s = (float*)_scratch.Address;
    }

    /// <summary>Score columns written per row: the classes, or two for a single score expanded to two labels.</summary>
    public int Columns => _weights.N == 1 ? 2 : _weights.N;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        int k = _weights.K, n = _weights.N, columns = Columns;
        for (int r = 0; r < _rows; r++)
        {
            float* s = _s;
            float* z = _scores + (r * columns);
            _weights.Row(_x + (r * k), s, Activation.None);
            if (n == 1)
            {
                float v = s[0];
                _label[r] = v > 0 ? _labels[1] : _labels[0];
                float p = _transform == PostTransform.Logistic ? MlasLogistic(v) : v;
                z[0] = 1f - p;
                z[1] = p;
                continue;
            }

            int best = 0;
            for (int c = 1; c < n; c++)
            {
                best = s[c] > s[best] ? c : best;
            }

            _label[r] = _labels[best];
            switch (_transform)
            {
                case PostTransform.Logistic:
                    for (int c = 0; c < n; c++)
                    {
                        z[c] = MlasLogistic(s[c]);
                    }

                    break;
                case PostTransform.Softmax:
                case PostTransform.SoftmaxZero:
                    TreeEnsembleKernel.Softmax(s, z, n, zero: _transform == PostTransform.SoftmaxZero);
                    break;
                default:
                    for (int c = 0; c < n; c++)
                    {
                        z[c] = s[c];
                    }

                    break;
            }
        }
    }

    // ORT computes this operator's logistic with MLAS's rational approximation (inputs clamped to ±18, result
    // floored at 0), not with exp: near 0 the two differ by orders of magnitude in relative terms, which a
    // following L1/L2/MAX normalizer turns into visible differences, so the kernel uses the same approximation and
    // the same fused operations (it reproduces ORT bit for bit given the same score). What remains: near 0 the
    // result is (p/q) + 0.5, quantized in steps of ~3e-8, so a score one ulp away from ORT's GEMM can land one
    // step away; when every class's score is that negative, a normalizer magnifies it past the agreement rule
    // and the loader keeps ONNX Runtime for that model (the reason says so).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float MlasLogistic(float value)
    {
        float v = MathF.Min(18f, MathF.Max(-18f, value));
        float v2 = v * v;
        float p = MathF.FusedMultiplyAdd(v2, 4.37031012579801e-11f, 1.15627324459942e-07f);
        p = MathF.FusedMultiplyAdd(p, v2, 6.08574864600143e-05f);
        p = MathF.FusedMultiplyAdd(p, v2, 8.51377133304701e-03f);
        p = MathF.FusedMultiplyAdd(p, v2, 2.48287947061529e-01f);
        p *= v;
        float q = MathF.FusedMultiplyAdd(v2, 6.10247389755681e-13f, 5.76102136993427e-09f);
        q = MathF.FusedMultiplyAdd(q, v2, 6.29106785017040e-06f);
        q = MathF.FusedMultiplyAdd(q, v2, 1.70198817374094e-03f);
        q = MathF.FusedMultiplyAdd(q, v2, 1.16817656904453e-01f);
        q = MathF.FusedMultiplyAdd(q, v2, 9.93151921023180e-01f);
        return MathF.Max(0f, (p / q) + 0.5f); // the clamped input gives −6e-8, which ORT's kernel returns as 0
    }

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"linear classifier {_weights.K}→{_weights.N} {_transform.ToString().ToLowerInvariant()} ×{_rows} rows ({_origin})");

    protected override void ReleaseWeights()
    {
        _weights.Dispose();
        _scratch.Dispose();
    }
}

/// <summary>The norms of ai.onnx.ml Normalizer.</summary>
internal enum NormKind
{
    Max,
    L1,
    L2,
}

/// <summary>
/// ai.onnx.ml Normalizer over each row, as ONNX Runtime computes it: divide by the row's max, sum of absolute
/// values, or Euclidean norm (L2 as <c>±√(x²/Σx²)</c>); a row whose norm is 0 is copied unchanged.
/// </summary>
internal sealed unsafe class NormalizerKernel(NormKind norm, float* x, float* y, int rows, int width) : Kernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        for (int r = 0; r < rows; r++)
        {
            float* xr = x + (r * width);
            float* yr = y + (r * width);
            float z = norm == NormKind.Max ? float.MinValue : 0f;
            for (int i = 0; i < width; i++)
            {
                float v = xr[i];
                z = norm switch
                {
                    NormKind.Max => MathF.Max(z, v),
                    NormKind.L1 => z + MathF.Abs(v),
                    _ => z + (v * v),
                };
            }

            for (int i = 0; i < width; i++)
            {
                float v = xr[i];
                yr[i] = z == 0f ? v : norm switch
                {
                    NormKind.L2 => v < 0 ? -MathF.Sqrt(v * v / z) : MathF.Sqrt(v * v / z),
                    _ => v / z,
                };
            }
        }
    }

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"normalizer {norm.ToString().ToUpperInvariant()} {rows}×{width}");
}
