using BenchmarkDotNet.Running;

// dotnet run -c Release --project perf/Engine.Benchmarks -- --filter '*'   (or e.g. --filter '*Inference*')
BenchmarkSwitcher.FromAssembly(typeof(Engine.Benchmarks.Samples).Assembly).Run(args);
