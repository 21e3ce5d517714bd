using BenchmarkDotNet.Attributes;
using Engine.Inference;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Engine.Benchmarks;

/// <summary>One batch-1 call of the demo model: the engine's bound call against the naive API (the baseline).</summary>
[MemoryDiagnoser]
[BenchmarkCategory("inference")]
public class InferenceBenchmarks
{
    private OnnxModel _engine = null!;
    private InferenceSession _naive = null!;
    private SessionOptions _options = null!;
    private float[] _features = [];

    [GlobalSetup]
    public void Setup()
    {
        string path = Path.Combine(Samples.Directory, "demo.onnx");
        _engine = OnnxModel.Load(path);
        _options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        _options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _naive = new InferenceSession(path, _options);
        _features = [.. Enumerable.Range(0, 9).Select(i => i * 0.1f)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine.Dispose();
        _naive.Dispose();
        _options.Dispose();
    }

    [Benchmark(Baseline = true, Description = "naive Run(NamedOnnxValue)")]
    public float Naive()
    {
        var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor("features", new DenseTensor<float>(_features, [1, 9])) };
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = _naive.Run(inputs);
        return results[0].AsEnumerable<float>().First();
    }

    [Benchmark(Description = "engine OnnxModel.Run (IoBinding)")]
    public float Engine()
    {
        _features.CopyTo(_engine.Inputs[0].Span);
        _engine.Run();
        return _engine.Outputs[0].Span[0];
    }
}
