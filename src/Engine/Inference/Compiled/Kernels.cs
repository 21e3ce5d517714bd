using System.Runtime.CompilerServices;
using System.Globalization;
using System.Runtime.Intrinsics;
using Engine.Native;

namespace Engine.Inference.Compiled;

/// <summary>
/// One step of a compiled model: its inputs, outputs and weights are native addresses fixed when the model
/// was compiled, so <see cref="Run"/> is straight-line arithmetic with no allocation and no lookup.
/// </summary>
/// <remarks>
/// Kernels are sealed: the model's loop calls each through one virtual call (a few per model). Their run
/// methods are marked AggressiveOptimization: tiered compilation would otherwise run them as unoptimized
/// tier-0 code for the first ~100 ms after load (measured 5–10× slower on mlp_32 in the compiled scenario),
/// and a model must be at full speed from the first tick. They gain nothing from dynamic PGO (no virtual
/// calls or type checks inside).
/// </remarks>
internal abstract class Kernel : IDisposable
{
    /// <summary>Computes the step.</summary>
    public abstract void Run();

    /// <summary>One line for reports, e.g. <c>dense 32→64 relu ×1</c>.</summary>
    public abstract string Describe();

    /// <inheritdoc />
    public void Dispose()
    {
        ReleaseWeights();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees owned weights and scratch memory.</summary>
    protected virtual void ReleaseWeights()
    {
    }
}

/// <summary>Fully connected rows: <c>y[m] = act(W·x[m] + b)</c> for M rows (Gemm/MatMul with constant weights, fused bias and activation).</summary>
internal sealed unsafe class DenseKernel(DenseWeights weights, float* x, float* y, int rows, Activation activation, string origin) : Kernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        int k = weights.K, n = weights.N;
        for (int m = 0; m < rows; m++)
        {
            weights.Row(x + (m * k), y + (m * n), activation);
        }
    }

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"dense {weights.K}→{weights.N}{(activation == Activation.None ? string.Empty : " " + activation.ToString().ToLowerInvariant())} ×{rows} rows ({(weights.Narrow ? "dot" : "broadcast-FMA")}, {origin})");

    protected override void ReleaseWeights() => weights.Dispose();
}

/// <summary>
/// General matrix product of two runtime tensors, <c>Y = alpha·op(A)·op(B) + beta·C</c>, with C broadcast
/// through an index table. Scalar loops: for graphs whose weights arrive as inputs (operator tests), not the fast path.
/// </summary>
internal sealed unsafe class GemmKernel(float* a, float* b, float* c, int[]? cIndex, float* y, int m, int n, int k, bool transA, bool transB, float alpha, float beta) : Kernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[(p * m) + i] : a[(i * k) + p];
                    float bv = transB ? b[(j * k) + p] : b[(p * n) + j];
                    s += av * bv;
                }

                float r = alpha * s;
                if (c != null)
                {
                    r += beta * c[cIndex![(i * n) + j]];
                }

                y[(i * n) + j] = r;
            }
        }
    }

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"gemm {m}×{k}·{k}×{n} (runtime operands)");
}

/// <summary>The binary element-wise operators.</summary>
internal enum BinaryOp
{
    Add,
    Sub,
    Mul,
    Div,
}

/// <summary>
/// <c>y = a op b</c> element-wise. Equal shapes run as whole vectors; broadcasting reads both operands
/// through index tables built at compile time.
/// </summary>
internal sealed unsafe class BinaryKernel(BinaryOp op, float* a, float* b, float* y, int count, int[]? aIndex, int[]? bIndex, Activation activation) : Kernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        if (aIndex is null && bIndex is null)
        {
            RunSameShape();
            return;
        }

        for (int i = 0; i < count; i++)
        {
            float av = a[aIndex is null ? i : aIndex[i]];
            float bv = b[bIndex is null ? i : bIndex[i]];
            y[i] = Simd.Apply(Scalar(av, bv), activation);
        }
    }

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"{op.ToString().ToLowerInvariant()}{(activation == Activation.None ? string.Empty : " " + activation.ToString().ToLowerInvariant())} ×{count}{(aIndex is null && bIndex is null ? string.Empty : " (broadcast)")}");

    private float Scalar(float av, float bv) => op switch
    {
        BinaryOp.Add => av + bv,
        BinaryOp.Sub => av - bv,
        BinaryOp.Mul => av * bv,
        _ => av / bv,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    private void RunSameShape()
    {
        int i = 0;
        for (; i + 8 <= count; i += 8)
        {
            Vector256<float> va = Vector256.Load(a + i), vb = Vector256.Load(b + i);
            Vector256<float> r = op switch
            {
                BinaryOp.Add => va + vb,
                BinaryOp.Sub => va - vb,
                BinaryOp.Mul => va * vb,
                _ => va / vb,
            };
            Vector256.Store(Simd.Apply(r, activation), y + i);
        }

        for (; i < count; i++)
        {
            y[i] = Simd.Apply(Scalar(a[i], b[i]), activation);
        }
    }
}

/// <summary>An activation on its own (not fused into a producer): Relu, Tanh, Sigmoid.</summary>
internal sealed unsafe class UnaryKernel(Activation activation, float* x, float* y, int count) : Kernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run() => Simd.Apply(x, y, count, activation);

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"{activation.ToString().ToLowerInvariant()} ×{count}");
}

/// <summary>Softmax over contiguous rows of <c>width</c> (the last axis), max-subtracted.</summary>
internal sealed unsafe class SoftmaxKernel(float* x, float* y, int rows, int width) : Kernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        for (int r = 0; r < rows; r++)
        {
            float* xr = x + (r * width);
            float* yr = y + (r * width);
            float max = float.NegativeInfinity;
            for (int i = 0; i < width; i++)
            {
                max = MathF.Max(max, xr[i]);
            }

            float sum = 0;
            for (int i = 0; i < width; i++)
            {
                float e = MathF.Exp(xr[i] - max);
                yr[i] = e;
                sum += e;
            }

            float inv = 1f / sum;
            for (int i = 0; i < width; i++)
            {
                yr[i] *= inv;
            }
        }
    }

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"softmax {rows}×{width}");
}

/// <summary>
/// Data movement (Transpose, Gather, Split and Concat that are not free views, or a copy into an output):
/// <c>y[i] = x[index[i]]</c>, or one block copy when the index is the identity.
/// </summary>
internal sealed unsafe class CopyKernel(float* x, float* y, int count, int[]? index, string what) : Kernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        if (index is null)
        {
            Buffer.MemoryCopy(x, y, (long)count * sizeof(float), (long)count * sizeof(float));
            return;
        }

        for (int i = 0; i < count; i++)
        {
            y[i] = x[index[i]];
        }
    }

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"{what} ×{count}");
}

/// <summary>ai.onnx.ml Scaler: <c>y[r, f] = (x[r, f] − offset[f])·scale[f]</c>.</summary>
internal sealed unsafe class ScalerKernel : Kernel
{
    private readonly AlignedBuffer<float> _offset;
    private readonly AlignedBuffer<float> _scale;
    private readonly float* _o;
    private readonly float* _s;
    private readonly float* _x;
    private readonly float* _y;
    private readonly int _rows;
    private readonly int _width;

    public ScalerKernel(float[] offset, float[] scale, float* x, float* y, int rows, int width)
    {
        _offset = new AlignedBuffer<float>(width);
        _scale = new AlignedBuffer<float>(width);
        for (int f = 0; f < width; f++)
        {
            _offset[f] = offset.Length == 1 ? offset[0] : offset[f];
            _scale[f] = scale.Length == 1 ? scale[0] : scale[f];
        }

        _o = (float*)_offset.Address;
        _s = (float*)_scale.Address;
        _x = x;
        _y = y;
        _rows = rows;
        _width = width;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        float* o = _o;
        float* s = _s;
        for (int r = 0; r < _rows; r++)
        {
            float* xr = _x + (r * _width);
            float* yr = _y + (r * _width);
            for (int f = 0; f < _width; f++)
            {
                yr[f] = (xr[f] - o[f]) * s[f];
            }
        }
    }

    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"scaler {_rows}×{_width}");

    protected override void ReleaseWeights()
    {
        _offset.Dispose();
        _scale.Dispose();
    }
}
