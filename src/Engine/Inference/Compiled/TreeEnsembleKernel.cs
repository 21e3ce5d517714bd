using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Native;

namespace Engine.Inference.Compiled;

/// <summary>The comparison a tree node makes (ai.onnx.ml node modes).</summary>
internal enum BranchMode : byte
{
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
}

/// <summary>How leaf values are combined across trees.</summary>
internal enum TreeAggregate
{
    Sum,
    Average,
    Min,
    Max,
}

/// <summary>The transform applied to the aggregated scores (ai.onnx.ml <c>post_transform</c>).</summary>
internal enum PostTransform
{
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
    Probit,
}

/// <summary>One node, 16 bytes. A leaf tests feature 0 and has both children pointing at itself; its weights are found through the ensemble's leaf tables.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TreeNode
{
    /// <summary>Feature index, with <see cref="MissingTrueFlag"/> and the mode (bits 24–26) folded in where the walk decodes them.</summary>
    public int Feature;
    public float Threshold;
    public int True;
    public int False;

    public const int MissingTrueFlag = 1 << 30;
    public const int FeatureMask = 0xFFFFFF;
}

/// <summary>
/// The whole description of a tree ensemble as the compiler read it from TreeEnsembleRegressor or
/// TreeEnsembleClassifier, in ONNX Runtime's semantics (scores accumulated in float32 in tree order,
/// base values, post transforms and the binary-classifier special cases).
/// </summary>
internal sealed record TreeEnsembleSpec(
    TreeNode[] Nodes,
    int[] LeafStart,
    int[] LeafCount,
    int[] Roots,
    int[] Depths,
    int[] WeightTargets,
    float[] WeightValues,
    int Targets,
    TreeAggregate Aggregate,
    PostTransform Transform,
    float[] BaseValues,
    bool Uniform,
    bool HasMissing,
    BranchMode Mode,
    bool Classifier,
    float[] ClassLabels,
    bool BinaryCase,
    bool WeightsAllPositive);

/// <summary>
/// A tree ensemble over pinned node arrays: per row, each tree is walked from its root to a leaf with one
/// comparison per level (specialized by a struct comparer when every node uses the same mode, which is
/// what scikit-learn, LightGBM and XGBoost emit), leaf weights are aggregated, then finalized as ONNX
/// Runtime does. Allocation-free; scratch scores live in the kernel.
/// </summary>
internal sealed unsafe class TreeEnsembleKernel : Kernel
{
    private readonly TreeEnsembleSpec _spec;
    private readonly AlignedBuffer<TreeNode> _nodes;
    private readonly AlignedBuffer<int> _roots;
    private readonly AlignedBuffer<int> _targets;
    private readonly AlignedBuffer<float> _values;
    private readonly AlignedBuffer<float> _scores;
    private readonly AlignedBuffer<byte> _has;
    private readonly TreeNode* _n;
    private readonly int* _r;
    private readonly int* _t;
    private readonly float* _v;
    private readonly float* _s;
    private readonly byte* _h;
    private readonly float* _x;
    private readonly float* _y;
    private readonly float* _label;
    private readonly int _rows;
    private readonly int _features;
    private readonly bool _fast;
    private readonly bool _single;
    private readonly AlignedBuffer<int> _leafStart;
    private readonly AlignedBuffer<int> _leafCount;
    private readonly AlignedBuffer<int> _groupDepth;
    private readonly int* _ls;
    private readonly int* _lc;
    private readonly int* _d;

    public TreeEnsembleKernel(TreeEnsembleSpec spec, float* x, int rows, int features, float* y, float* label)
    {
        _spec = spec;
        _nodes = Pin(spec.Nodes);
        _roots = Pin(spec.Roots);
        _targets = Pin(spec.WeightTargets);
        _values = Pin(spec.WeightValues);
        _scores = new AlignedBuffer<float>(spec.Targets + 1);
        _has = new AlignedBuffer<byte>(spec.Targets + 1);
        _n = (TreeNode*)_nodes.Address;
        _r = (int*)_roots.Address;
        _t = (int*)_targets.Address;
        _v = (float*)_values.Address;
        _s = (float*)_scores.Address;
        _h = (byte*)_has.Address;
        _x = x;
        _y = y;
        _label = label;
        _rows = rows;
        _features = features;
        _fast = spec.Uniform;
        _single = spec.Targets == 1 && !spec.Classifier;
        _leafStart = Pin(spec.LeafStart);
        _leafCount = Pin(spec.LeafCount);
        int[] groups = new int[(spec.Roots.Length / 4) + 1];
        for (int t = 0; t + 4 <= spec.Roots.Length; t += 4)
        {
            groups[t / 4] = Math.Max(Math.Max(spec.Depths[t], spec.Depths[t + 1]), Math.Max(spec.Depths[t + 2], spec.Depths[t + 3]));
        }

        _groupDepth = Pin(groups);
        _ls = (int*)_leafStart.Address;
        _lc = (int*)_leafCount.Address;
        _d = (int*)_groupDepth.Address;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        for (int row = 0; row < _rows; row++)
        {
            float* x = _x + (row * _features);
            new Span<float>(_s, _spec.Targets).Clear();
            new Span<byte>(_h, _spec.Targets).Clear();
            if (!_fast)
            {
                Walk<Mixed>(x);
            }
            else if (_spec.HasMissing)
            {
                switch (_spec.Mode)
                {
                    case BranchMode.Leq: Walk<WithMissing<Leq>>(x); break;
                    case BranchMode.Lt: Walk<WithMissing<Lt>>(x); break;
                    case BranchMode.Gte: Walk<WithMissing<Gte>>(x); break;
                    case BranchMode.Gt: Walk<WithMissing<Gt>>(x); break;
                    case BranchMode.Eq: Walk<WithMissing<Eq>>(x); break;
                    default: Walk<WithMissing<Neq>>(x); break;
                }
            }
            else
            {
                switch (_spec.Mode)
                {
                    case BranchMode.Leq: Walk<Leq>(x); break;
                    case BranchMode.Lt: Walk<Lt>(x); break;
                    case BranchMode.Gte: Walk<Gte>(x); break;
                    case BranchMode.Gt: Walk<Gt>(x); break;
                    case BranchMode.Eq: Walk<Eq>(x); break;
                    default: Walk<Neq>(x); break;
                }
            }

            float* y = _y + (row * _spec.Targets);
            if (_spec.Classifier)
            {
                FinalizeClassifier(y, _label + row);
            }
            else
            {
                FinalizeRegressor(y);
            }
        }
    }

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"tree ensemble {(_spec.Classifier ? "classifier" : "regressor")}: {_spec.Roots.Length} trees, {_spec.Nodes.Length} nodes, {_spec.Targets} {(_spec.Classifier ? "classes" : "targets")}, {(_fast ? _spec.Mode.ToString().ToUpperInvariant() : "mixed modes")}{(_spec.HasMissing ? " with missing-value routes" : string.Empty)}, {_spec.Aggregate.ToString().ToUpperInvariant()}, {_spec.Transform.ToString().ToUpperInvariant()} ×{_rows} rows");

    protected override void ReleaseWeights()
    {
        _nodes.Dispose();
        _roots.Dispose();
        _targets.Dispose();
        _values.Dispose();
        _scores.Dispose();
        _has.Dispose();
        _leafStart.Dispose();
        _leafCount.Dispose();
        _groupDepth.Dispose();
    }

    private static AlignedBuffer<T> Pin<T>(T[] values) where T : unmanaged
    {
        var buffer = new AlignedBuffer<T>(Math.Max(1, values.Length));
        values.CopyTo(buffer.Span);
        return buffer;
    }

    // Four trees at a time, each a fixed number of steps (the deepest of the four): a leaf points at itself,
    // so the walk needs no leaf test and the next node is picked without a branch. The four chains of
    // dependent loads overlap instead of waiting on each other or on mispredicted branches.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Walk<TBranch>(float* x) where TBranch : struct, IBranch
    {
        TreeNode* nodes = _n;
        int trees = _spec.Roots.Length;
        int t = 0;
        for (; t + 4 <= trees; t += 4)
        {
            int i0 = _r[t], i1 = _r[t + 1], i2 = _r[t + 2], i3 = _r[t + 3];
            for (int d = _d[t >> 2]; d > 0; d--)
            {
                i0 = Next<TBranch>(nodes + i0, x);
                i1 = Next<TBranch>(nodes + i1, x);
                i2 = Next<TBranch>(nodes + i2, x);
                i3 = Next<TBranch>(nodes + i3, x);
            }

            Leaf(i0);
            Leaf(i1);
            Leaf(i2);
            Leaf(i3);
        }

        for (; t < trees; t++)
        {
            int i = _r[t];
            for (int d = _spec.Depths[t]; d > 0; d--)
            {
                i = Next<TBranch>(nodes + i, x);
            }

            Leaf(i);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Next<TBranch>(TreeNode* node, float* x) where TBranch : struct, IBranch
    {
        int goTrue = Unsafe.BitCast<bool, byte>(TBranch.Test(node->Feature, x, node->Threshold));
        return node->False + ((node->True - node->False) & -goTrue);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Leaf(int node)
    {
        int start = _ls[node], count = _lc[node];
        if (count == 0)
        {
            return;
        }

        if (_single)
        {
            // ORT's one-target path: only the leaf's first weight counts.
            Aggregate(0, _v[start]);
            return;
        }

        for (int w = start, end = start + count; w < end; w++)
        {
            Aggregate(_t[w], _v[w]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Aggregate(int target, float value)
    {
        switch (_spec.Classifier ? TreeAggregate.Sum : _spec.Aggregate)
        {
            case TreeAggregate.Min:
                _s[target] = _h[target] == 0 || value < _s[target] ? value : _s[target];
                break;
            case TreeAggregate.Max:
                _s[target] = _h[target] == 0 || value > _s[target] ? value : _s[target];
                break;
            default:
                _s[target] += value;
                break;
        }

        _h[target] = 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    private void FinalizeRegressor(float* y)
    {
        int n = _spec.Targets;
        float[] bases = _spec.BaseValues;
        float trees = _spec.Roots.Length;
        if (n == 1)
        {
            float origin = bases.Length == 1 ? bases[0] : 0f;
            float s = _spec.Aggregate switch
            {
                TreeAggregate.Sum => _s[0] + origin,
                TreeAggregate.Average => (_s[0] / trees) + origin,
                _ => _h[0] != 0 ? _s[0] + origin : origin,
            };
            y[0] = _spec.Transform == PostTransform.Probit ? Probit(s) : s;
            return;
        }

        bool useBase = bases.Length == n;
        for (int j = 0; j < n; j++)
        {
            float b = useBase ? bases[j] : 0f;
            _s[j] = _spec.Aggregate switch
            {
                TreeAggregate.Sum => _s[j] + b,
                TreeAggregate.Average => (_s[j] / trees) + b,
                _ => b + (_h[j] != 0 ? _s[j] : 0f),
            };
        }

        WriteScores(y, n, -1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    private void FinalizeClassifier(float* y, float* label)
    {
        int n = _spec.Targets;
        float[] bases = _spec.BaseValues;
        if (n > 2)
        {
            for (int k = 0; k < bases.Length; k++)
            {
                _s[k] = _h[k] == 0 ? bases[k] : _s[k] + bases[k];
                _h[k] = 1;
            }

            int best = -1;
            float max = 0;
            for (int k = 0; k < n; k++)
            {
                if (_h[k] != 0 && (best == -1 || _s[k] > max))
                {
                    best = k;
                    max = _s[k];
                }
            }

            *label = _spec.ClassLabels[best];
            WriteScores(y, n, -1);
            return;
        }

        int size = 2;
        int add = -1;
        if (bases.Length == 2)
        {
            if (_h[1] != 0)
            {
                _s[1] = bases[1] + _s[0];
                _s[0] = -_s[1];
            }
            else
            {
                _s[1] += bases[1];
                _s[0] += bases[0];
            }
        }
        else if (bases.Length == 1)
        {
            _s[0] += bases[0];
            size = _h[1] != 0 ? 2 : 1;
        }
        else if (bases.Length == 0)
        {
            add = 3;
            size = _h[1] != 0 ? 2 : 1;
        }

        float pos = size == 2 && _h[1] != 0 ? _s[1] : (_h[0] != 0 ? _s[0] : 0f);
        if (_spec.BinaryCase)
        {
            bool positive = _spec.WeightsAllPositive ? pos > 0.5f : pos > 0f;
            add = _spec.WeightsAllPositive ? (positive ? 0 : 1) : (positive ? 2 : 3);
            *label = _spec.ClassLabels[positive ? 1 : 0];
        }
        else
        {
            // ORT returns the literal labels 1 and 0 here, not class_labels.
            *label = pos > 0 ? 1f : 0f;
        }

        WriteScores(y, size, add);
    }

    // ORT's write_scores: transform the scores, or expand a single binary score into two columns.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    private void WriteScores(float* z, int size, int addSecondClass)
    {
        float* s = _s;
        if (size >= 2)
        {
            switch (_spec.Transform)
            {
                case PostTransform.Probit:
                    for (int i = 0; i < size; i++)
                    {
                        z[i] = Probit(s[i]);
                    }

                    break;
                case PostTransform.Logistic:
                    for (int i = 0; i < size; i++)
                    {
                        z[i] = Logistic(s[i]);
                    }

                    break;
                case PostTransform.Softmax:
                    Softmax(s, z, size, zero: false);
                    break;
                case PostTransform.SoftmaxZero:
                    Softmax(s, z, size, zero: true);
                    break;
                default:
                    for (int i = 0; i < size; i++)
                    {
                        z[i] = s[i];
                    }

                    break;
            }

            return;
        }

        float v = s[0];
        if (_spec.Transform == PostTransform.Probit)
        {
            z[0] = Probit(v);
            return;
        }

        switch (addSecondClass)
        {
            case 0:
            case 1:
                z[0] = 1f - v;
                z[1] = v;
                break;
            case 2:
            case 3:
                if (_spec.Transform == PostTransform.Logistic)
                {
                    z[0] = Logistic(-v);
                    z[1] = Logistic(v);
                }
                else
                {
                    z[0] = -v;
                    z[1] = v;
                }

                break;
            default:
                z[0] = v;
                break;
        }
    }

    internal static void Softmax(float* s, float* z, int n, bool zero)
    {
        float max = -float.MaxValue;
        for (int i = 0; i < n; i++)
        {
            max = s[i] > max ? s[i] : max;
        }

        float expNegMax = MathF.Exp(-max);
        float sum = 0f;
        for (int i = 0; i < n; i++)
        {
            if (zero && s[i] <= 0.0000001f && s[i] >= -0.0000001f)
            {
                z[i] = s[i] * expNegMax;
            }
            else
            {
                z[i] = MathF.Exp(s[i] - max);
                sum += z[i];
            }
        }

        for (int i = 0; i < n; i++)
        {
            z[i] /= sum;
        }
    }

    internal static float Logistic(float v)
    {
        float p = 1f / (1f + MathF.Exp(-MathF.Abs(v)));
        return v < 0 ? 1f - p : p;
    }

    // ORT's probit: √2 · erfinv(2v − 1) with its own closed-form erfinv approximation.
    internal static float Probit(float v)
    {
        float x = (2f * v) - 1f;
        float sign = x < 0 ? -1f : 1f;
        x = (1f - x) * (1f + x);
        float log = MathF.Log(x);
        float a = (2f / (3.14159f * 0.147f)) + (0.5f * log);
        float b = 1f / 0.147f * log;
        float c = -a + MathF.Sqrt((a * a) - b);
        return 1.41421356f * sign * MathF.Sqrt(c);
    }

    private interface IBranch
    {
        static abstract bool Test(int feature, float* x, float threshold);
    }

    private readonly struct Leq : IBranch
    {
        public static bool Test(int feature, float* x, float threshold) => x[feature] <= threshold;
    }

    private readonly struct Lt : IBranch
    {
        public static bool Test(int feature, float* x, float threshold) => x[feature] < threshold;
    }

    private readonly struct Gte : IBranch
    {
        public static bool Test(int feature, float* x, float threshold) => x[feature] >= threshold;
    }

    private readonly struct Gt : IBranch
    {
        public static bool Test(int feature, float* x, float threshold) => x[feature] > threshold;
    }

    private readonly struct Eq : IBranch
    {
        public static bool Test(int feature, float* x, float threshold) => x[feature] == threshold;
    }

    private readonly struct Neq : IBranch
    {
        public static bool Test(int feature, float* x, float threshold) => x[feature] != threshold;
    }

    // One mode, and a per-node direction for NaN (bit 30): XGBoost's exports.
    private readonly struct WithMissing<TBranch> : IBranch
        where TBranch : struct, IBranch
    {
        public static bool Test(int feature, float* x, float threshold)
        {
            int f = feature & TreeNode.FeatureMask;
            return TBranch.Test(f, x, threshold) || ((feature & TreeNode.MissingTrueFlag) != 0 && float.IsNaN(x[f]));
        }
    }

    // Per-node mode (bits 24–26) and missing-value direction (bit 30), for ensembles that mix them.
    private readonly struct Mixed : IBranch
    {
        public static bool Test(int feature, float* x, float threshold)
        {
            float v = x[feature & TreeNode.FeatureMask];
            bool result = ((BranchMode)((feature >> 24) & 7)) switch
            {
                BranchMode.Leq => v <= threshold,
                BranchMode.Lt => v < threshold,
                BranchMode.Gte => v >= threshold,
                BranchMode.Gt => v > threshold,
                BranchMode.Eq => v == threshold,
                _ => v != threshold,
            };
            return result || ((feature & TreeNode.MissingTrueFlag) != 0 && float.IsNaN(v));
        }
    }
}
