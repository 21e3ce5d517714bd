using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Inference.Compiled;

/// <summary>An activation applied to a kernel's results before they are stored.</summary>
internal enum Activation
{
    /// <summary>None.</summary>
    None,

    /// <summary>max(x, 0).</summary>
    Relu,

    /// <summary>tanh(x).</summary>
    Tanh,

    /// <summary>1 / (1 + e^-x).</summary>
    Sigmoid,
}

/// <summary>
/// Vector math over native float memory: activations on 256- and 512-bit vectors (built on the runtime's
/// vectorized <c>Exp</c>, about 1 ulp), fused multiply-add where the CPU has it, and in-place activation of
/// a run of floats. Leaf helpers with their own tests; no allocation, any thread.
/// </summary>
internal static unsafe class Simd
{
    /// <summary>Whether the 512-bit paths run (the JIT folds this).</summary>
    public static readonly bool Use512 = Vector512.IsHardwareAccelerated;

    /// <summary>Floats per vector on the path that runs.</summary>
    public static readonly int Width = Use512 ? Vector512<float>.Count : Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) =>
        Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) =>
        Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-x));

    // tanh(x) = 1 - 2 / (e^2x + 1): e^2x overflowing to +inf gives 1, underflowing to 0 gives -1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x) =>
        Vector256<float>.One - (Vector256.Create(2f) / (Vector256.Exp(x + x) + Vector256<float>.One));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x) =>
        Vector512<float>.One - (Vector512.Create(2f) / (Vector512.Exp(x + x) + Vector512<float>.One));

    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    public static float Tanh(float x) => 1f - (2f / (MathF.Exp(x + x) + 1f));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Apply(Vector256<float> v, Activation a) => a switch
    {
        Activation.Relu => Vector256.Max(v, Vector256<float>.Zero),
        Activation.Tanh => Tanh(v),
        Activation.Sigmoid => Sigmoid(v),
        _ => v,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Apply(Vector512<float> v, Activation a) => a switch
    {
        Activation.Relu => Vector512.Max(v, Vector512<float>.Zero),
        Activation.Tanh => Tanh(v),
        Activation.Sigmoid => Sigmoid(v),
        _ => v,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float v, Activation a) => a switch
    {
        Activation.Relu => MathF.Max(v, 0f),
        Activation.Tanh => Tanh(v),
        Activation.Sigmoid => Sigmoid(v),
        _ => v,
    };

    /// <summary>Applies <paramref name="a"/> to <paramref name="count"/> floats from <paramref name="src"/> into <paramref name="dst"/> (may be the same memory).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public static void Apply(float* src, float* dst, int count, Activation a)
    {
        int i = 0;
        if (Use512)
        {
            for (; i + 16 <= count; i += 16)
            {
                Vector512.Store(Apply(Vector512.Load(src + i), a), dst + i);
            }
        }

        for (; i + 8 <= count; i += 8)
        {
            Vector256.Store(Apply(Vector256.Load(src + i), a), dst + i);
        }

        for (; i < count; i++)
        {
            dst[i] = Apply(src[i], a);
        }
    }

    /// <summary>Stores the first <paramref name="count"/> lanes of <paramref name="v"/> (all when count ≥ lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> v, float* dst, int count)
    {
        if (count >= 16)
        {
            Vector512.Store(v, dst);
            return;
        }

        StorePartial(v, dst, count);
    }

    /// <summary>Stores the first <paramref name="count"/> lanes of <paramref name="v"/> (all when count ≥ lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> v, float* dst, int count)
    {
        if (count >= 8)
        {
            Vector256.Store(v, dst);
            return;
        }

        StorePartial(v, dst, count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StorePartial(Vector512<float> v, float* dst, int count)
    {
        for (int i = 0; i < count; i++)
        {
            dst[i] = v.GetElement(i);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StorePartial(Vector256<float> v, float* dst, int count)
    {
        for (int i = 0; i < count; i++)
        {
            dst[i] = v.GetElement(i);
        }
    }

    /// <summary>Dot product of two runs of <paramref name="count"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int count)
    {
        int k = 0;
        float sum;
        if (Use512 && count >= 16)
        {
            Vector512<float> s0 = Vector512<float>.Zero, s1 = Vector512<float>.Zero;
            for (; k + 32 <= count; k += 32)
            {
                s0 = Vector512.MultiplyAddEstimate(Vector512.Load(a + k), Vector512.Load(b + k), s0);
                s1 = Vector512.MultiplyAddEstimate(Vector512.Load(a + k + 16), Vector512.Load(b + k + 16), s1);
            }

            for (; k + 16 <= count; k += 16)
            {
                s0 = Vector512.MultiplyAddEstimate(Vector512.Load(a + k), Vector512.Load(b + k), s0);
            }

            sum = Vector512.Sum(s0 + s1);
        }
        else
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = Vector256<float>.Zero;
            for (; k + 16 <= count; k += 16)
            {
                s0 = Vector256.MultiplyAddEstimate(Vector256.Load(a + k), Vector256.Load(b + k), s0);
                s1 = Vector256.MultiplyAddEstimate(Vector256.Load(a + k + 8), Vector256.Load(b + k + 8), s1);
            }

            sum = Vector256.Sum(s0 + s1);
        }

        for (; k + 8 <= count; k += 8)
        {
            sum += Vector256.Sum(Vector256.Load(a + k) * Vector256.Load(b + k));
        }

        for (; k < count; k++)
        {
            sum += a[k] * b[k];
        }

        return sum;
    }
}
