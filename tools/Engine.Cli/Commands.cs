using System.CommandLine;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Engine.Cli.Sample;
using Engine.Cli.Training;
using Engine.Events;
using Engine.Features;
using Engine.Inference;
using Engine.Pipeline;
using Engine.Replay;
using Engine.Telemetry;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using Spectre.Console;

namespace Engine.Cli;

/// <summary>The <c>engine</c> command tree.</summary>
internal static partial class Commands
{
    /// <summary>Folder of the bundled sample capture, demo model and spec (copied next to the binary).</summary>
    public static string SamplesDirectory => Path.Combine(AppContext.BaseDirectory, "samples");

    public static string DefaultCapture => Path.Combine(SamplesDirectory, "sample.itch.gz");

    public static string DefaultSpec => Path.Combine(SamplesDirectory, "demo.features.json");

    public static RootCommand Build()
    {
        var root = new RootCommand("engine: an in-process inference engine for trading (replay, sample data, demo model).");
        root.Subcommands.Add(ReplayCommand());
        root.Subcommands.Add(SampleCommand());
        root.Subcommands.Add(ModelCommand());
        root.Subcommands.Add(FeaturesCommand());
        root.Subcommands.Add(HistCommand());
        FeedCommands(root);
        root.Subcommands.Add(DoctorCommand());
        root.Subcommands.Add(ConvertCommand());
        return root;
    }

    private static Command ReplayCommand()
    {
        var capture = new Option<string>("--capture") { Description = "ITCH 5.0 BinaryFILE or engine capture (`engine record`), told apart by the header; .gz accepted.", DefaultValueFactory = _ => DefaultCapture };
        var spec = new Option<string>("--spec") { Description = "Feature spec (JSON).", DefaultValueFactory = _ => DefaultSpec };
        var model = new Option<string?>("--model") { Description = "ONNX model; default: the spec's \"model\"." };
        var output = new Option<string>("--out") { Description = "Output folder for predictions.csv and latency.hlog.", DefaultValueFactory = _ => "out" };
        var rate = new Option<double>("--rate") { Description = "Open-loop pacing in messages/s (latency measured from each message's scheduled time); 0 = as fast as possible.", DefaultValueFactory = _ => 100_000 };
        var ring = new Option<int>("--ring") { Description = "Ring capacity (power of two).", DefaultValueFactory = _ => 1 << 16 };
        var wait = new Option<WaitStrategyKind>("--wait") { Description = "Stage wait strategy.", DefaultValueFactory = _ => WaitStrategyKind.BusySpin };
        var producerCore = new Option<int?>("--producer-core") { Description = "Pin the feed thread to this CPU." };
        var stageCore = new Option<int?>("--stage-core") { Description = "Pin the inference stage thread to this CPU." };
        var metrics = new Option<string?>("--metrics") { Description = "Serve /metrics (Prometheus) and /health/live, /health/ready while the replay runs, on PORT or ADDRESS:PORT (loopback unless --metrics-allow-remote)." };
        var metricsRemote = new Option<bool>("--metrics-allow-remote") { Description = "Allow --metrics to bind a non-loopback address (the endpoint has no authentication)." };
        var backend = new Option<ModelBackend>("--backend") { Description = "Model back-end: Auto (the compiled kernel when it agrees with ONNX Runtime), Ort, Compiled.", DefaultValueFactory = _ => ModelBackend.Auto };
        var command = new Command("replay", "Replay a capture through the production path (ring → book → features → ONNX → signal) and report counts, latency and the predictions' SHA-256.")
        {
            capture, spec, model, output, rate, ring, wait, producerCore, stageCore, backend, metrics, metricsRemote,
        };
        command.SetAction(r => Replay(new ReplayArguments(
            r.GetValue(capture)!, r.GetValue(spec)!, r.GetValue(model), r.GetValue(output)!, r.GetValue(rate), r.GetValue(ring), r.GetValue(wait), r.GetValue(producerCore), r.GetValue(stageCore), r.GetValue(backend))
        {
            Metrics = r.GetValue(metrics),
            MetricsAllowRemote = r.GetValue(metricsRemote),
        }));
        return command;
    }

    private static Command SampleCommand()
    {
        var output = new Option<string>("--output", "-o") { Description = "Where to write the gzip'd capture.", DefaultValueFactory = _ => Path.Combine("samples", "sample.itch.gz") };
        var seed = new Option<ulong>("--seed") { Description = "PRNG seed.", DefaultValueFactory = _ => new SampleOptions().Seed };
        var events = new Option<int>("--events") { Description = "Order-flow events to simulate.", DefaultValueFactory = _ => new SampleOptions().OrderEvents };
        var generate = new Command("generate", "Generate the deterministic ITCH 5.0 sample capture.") { output, seed, events };
        generate.SetAction(r =>
        {
            byte[] bytes = ItchSampleGenerator.Generate(new SampleOptions { Seed = r.GetValue(seed), OrderEvents = r.GetValue(events) });
            string path = r.GetValue(output)!;
            WriteGzip(path, bytes);
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "wrote [bold]{0}[/]: {1:N0} bytes of ITCH ({2:N0} gzip'd), sha256 of the ITCH bytes {3}", Markup.Escape(path), bytes.Length, new FileInfo(path).Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            return 0;
        });
        return new Command("sample", "The bundled sample capture.") { generate };
    }

    private static Command ModelCommand()
    {
        var capture = new Option<string>("--capture") { Description = "Capture to train on.", DefaultValueFactory = _ => DefaultCapture };
        var spec = new Option<string>("--spec") { Description = "Feature spec.", DefaultValueFactory = _ => DefaultSpec };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the ONNX model.", DefaultValueFactory = _ => Path.Combine("samples", "demo.onnx") };
        var horizon = new Option<double>("--horizon-ms") { Description = "Label: forward mid return over this much event time.", DefaultValueFactory = _ => 1000 };
        var train = new Command("train-demo", "Fit the demo model (ridge regression of the forward mid return on the spec's features) and write it as ONNX.") { capture, spec, output, horizon };
        train.SetAction(r =>
        {
            FeatureSpec featureSpec = FeatureSpec.Load(r.GetValue(spec)!);
            byte[] bytes = CaptureFile.ReadAll(r.GetValue(capture)!);
            List<FeatureRow> rows = OfflineFeatures.Extract(bytes, featureSpec, out _);
            TrainingResult result = DemoModelTrainer.Fit(rows, featureSpec.Count, r.GetValue(horizon));
            byte[] onnx = DemoModelTrainer.ToOnnx(result, featureSpec);
            string path = r.GetValue(output)!;
            CreateParentDirectory(path);
            File.WriteAllBytes(path, onnx);
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "wrote [bold]{0}[/]: {1:N0} training rows, in-sample R² {2:F4}, sha256 {3}", Markup.Escape(path), result.Rows, result.InSampleR2, Convert.ToHexStringLower(SHA256.HashData(onnx)));
            var table = new Table().AddColumn("feature").AddColumn(new TableColumn("weight").RightAligned());
            for (int i = 0; i < featureSpec.Count; i++)
            {
                table.AddRow(featureSpec.Features[i].ColumnName, result.Weights[i].ToString("G6", CultureInfo.InvariantCulture));
            }

            table.AddRow("(bias)", result.Bias.ToString("G6", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            return 0;
        });
        return new Command("model", "Model tooling.") { train };
    }

    private static Command FeaturesCommand()
    {
        var capture = new Option<string>("--capture") { Description = "Capture.", DefaultValueFactory = _ => DefaultCapture };
        var spec = new Option<string>("--spec") { Description = "Feature spec.", DefaultValueFactory = _ => DefaultSpec };
        var output = new Option<string>("--output", "-o") { Description = "CSV to write.", DefaultValueFactory = _ => Path.Combine("out", "features.csv") };
        var command = new Command("features", "Dump the feature rows a model would see at each trigger (same code as the replay stage), for training.") { capture, spec, output };
        command.SetAction(r =>
        {
            FeatureSpec featureSpec = FeatureSpec.Load(r.GetValue(spec)!);
            List<FeatureRow> rows = OfflineFeatures.Extract(CaptureFile.ReadAll(r.GetValue(capture)!), featureSpec, out Dictionary<int, string> symbols);
            string path = r.GetValue(output)!;
            CreateParentDirectory(path);
            using var writer = new StreamWriter(path, false, new UTF8Encoding(false)) { NewLine = "\n" };
            writer.WriteLine("sequence,instrument,symbol,exchange_time_ns,mid," + string.Join(',', featureSpec.Features.Select(f => f.ColumnName)));
            foreach (FeatureRow row in rows)
            {
                writer.Write(string.Create(CultureInfo.InvariantCulture, $"{row.Sequence},{row.Instrument},{symbols[row.Instrument]},{row.TimeNs},{row.Mid / Tick.PriceScale}"));
                foreach (float v in row.Features)
                {
                    writer.Write(',');
                    writer.Write(v.ToString("R", CultureInfo.InvariantCulture));
                }

                writer.WriteLine();
            }

            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "wrote [bold]{0}[/]: {1:N0} rows × {2} features", Markup.Escape(path), rows.Count, featureSpec.Count);
            return 0;
        });
        return command;
    }

    internal sealed record ReplayArguments(string Capture, string Spec, string? Model, string Output, double Rate, int Ring, WaitStrategyKind Wait, int? ProducerCore, int? StageCore, ModelBackend Backend = ModelBackend.Auto)
    {
        public string? Metrics { get; init; }

        public bool MetricsAllowRemote { get; init; }
    }

    internal static int Replay(ReplayArguments args)
    {
        FeatureSpec spec;
        ITickSource source;
        long captureBytes;
        string modelPath;
        MetricsEndpointOptions? metrics;
        var pacing = new ReplayPacing(args.Rate);
        try
        {
            metrics = ParseMetrics(args.Metrics, args.MetricsAllowRemote);
            spec = FeatureSpec.Load(args.Spec);
            modelPath = args.Model ?? spec.ModelPath ?? throw new FeatureSpecException($"{spec.Source}: names no \"model\"; pass --model.");
            source = ReplaySources.Open(args.Capture, pacing, out captureBytes);
        }
        catch (Exception ex) when (ex is FeatureSpecException or FileNotFoundException or FormatException or CaptureFormatException or InvalidDataException)
        {
            return Fail(ex.Message);
        }

        using IDisposable? ownedSource = source as IDisposable;
        Directory.CreateDirectory(args.Output);
        string predictionsPath = Path.Combine(args.Output, "predictions.csv");
        string hlogPath = Path.Combine(args.Output, "latency.hlog");
        var log = new PredictionLog((int)Math.Min(int.MaxValue, captureBytes / 16));
        var options = new ReplayOptions
        {
            Pipeline = new PipelineOptions { RingCapacity = args.Ring, Wait = args.Wait, ProducerCore = args.ProducerCore, ConsumerCore = args.StageCore },
            Hlog = File.Create(hlogPath),
            Metrics = metrics,
            Model = new ModelOptions { Backend = args.Backend },
        };

        ReplayReport report;
        try
        {
            // A status line on a terminal only (not in CI logs or tests); the report below is unchanged.
            ITickSource running = source;
            report = ConsoleProgress.Run(
                $"replaying {Path.GetFileName(args.Capture)}",
                () => string.Create(CultureInfo.InvariantCulture, $"{running.Counters.Read:N0} messages read, {running.Counters.Published:N0} ticks published"),
                () => ReplayRunner.Run(running, spec, modelPath, new PredictionLogHandler(log), options));
        }
        catch (Exception ex) when (ex is ModelLoadException || (ex is ArgumentException or System.Net.Sockets.SocketException && metrics is not null))
        {
            return Fail(ex.Message);
        }

        var csv = new MemoryStream();
        using (var writer = new StreamWriter(csv, new UTF8Encoding(false), 1 << 16, leaveOpen: true))
        {
            log.WriteCsv(writer, i => report.Books.Find(i)?.SymbolText ?? $"#{i}");
        }

        byte[] predictions = csv.ToArray();
        File.WriteAllBytes(predictionsPath, predictions);
        string sha = Convert.ToHexStringLower(SHA256.HashData(predictions));
        Print(report, args, pacing, source as IPacedSource, log.Count, sha, predictionsPath, hlogPath);
        PrintSourceCounters(source);
        return report.Run.Succeeded ? 0 : 1;
    }

    private static void Print(ReplayReport report, ReplayArguments args, ReplayPacing pacing, IPacedSource? source, int predictions, string sha, string predictionsPath, string hlogPath)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        AnsiConsole.MarkupLine(ic, "[bold]replay[/] {0}", Markup.Escape(report.Source));
        AnsiConsole.MarkupLine(ic, "model   {0} ({1}, sha256 {2}, loaded and warmed in {3:F1} ms)", Markup.Escape(report.ModelPath), report.ExecutionProvider, report.ModelSha256, report.ModelLoadTime.TotalMilliseconds);
        AnsiConsole.MarkupLine(ic, "backend {0}", Markup.Escape(report.BackendReason));
        AnsiConsole.MarkupLine(ic, "spec    {0}", Markup.Escape(Path.GetFullPath(args.Spec)));
        AnsiConsole.MarkupLine(ic, "pacing  {0}", source is null
            ? "as fast as possible (this input replays unpaced); latency from when each message was read (includes queueing in the ring)"
            : pacing.IsPaced
            ? string.Create(ic, $"open loop at {pacing.MessagesPerSecond:N0} msg/s; latency from each message's scheduled time ({source.LateMessages:N0} sent late; the feed thread was stalled {source.ProducerStalls:N0} times > 50 µs, longest {source.LongestProducerStallNs / 1e6:F2} ms)")
            : "as fast as possible; latency from when each message was read (includes queueing in the ring)");
        AnsiConsole.MarkupLine(ic, "threads feed → ring({0:N0}) → stage [[{1} wait]]; producer {2}; stage {3}", args.Ring, args.Wait, Markup.Escape(report.Run.ProducerAffinity?.ToString() ?? "unpinned"), Markup.Escape(report.Run.ConsumerAffinity?.ToString() ?? "unpinned"));

        FeedCounters feed = report.Feed;
        var counts = new Table().Title("events").AddColumn("what").AddColumn(new TableColumn("count").RightAligned());
        counts.AddRow("read", feed.Read.ToString("N0", ic));
        counts.AddRow("processed", feed.Processed.ToString("N0", ic));
        counts.AddRow("rejected messages (other layers: source table)", feed.Rejected.ToString("N0", ic));
        foreach (RejectReason reason in Enum.GetValues<RejectReason>())
        {
            if (feed.RejectedFor(reason) > 0)
            {
                counts.AddRow($"  rejected: {reason}", feed.RejectedFor(reason).ToString("N0", ic));
            }
        }

        counts.AddRow("ticks published to the ring", feed.Published.ToString("N0", ic));
        counts.AddRow("ticks processed by the stage", report.Processor.Ticks.ToString("N0", ic));
        counts.AddRow("inference triggers (top-of-book changes)", report.Processor.Triggers.ToString("N0", ic));
        counts.AddRow("inferences", report.Processor.Inferences.ToString("N0", ic));
        counts.AddRow("skipped: one-sided book", report.Processor.SkippedOneSided.ToString("N0", ic));
        counts.AddRow("processed by type", string.Join(' ', feed.ProcessedByType().Select(p => $"{p.Type}:{p.Count.ToString("N0", ic)}")));
        foreach (Book.BookAnomaly anomaly in Enum.GetValues<Book.BookAnomaly>())
        {
            long n = report.Books.AnomalyCount(anomaly);
            if (n > 0)
            {
                counts.AddRow($"book anomaly: {anomaly}", n.ToString("N0", ic));
            }
        }

        if (report.HorizonTruncations > 0)
        {
            counts.AddRow("return horizons truncated", report.HorizonTruncations.ToString("N0", ic));
        }

        AnsiConsole.Write(counts);

        AnsiConsole.Write(LatencyTable(report));
        AnsiConsole.MarkupLine(JitterLine(report));
        IReadOnlyList<int> gc = report.GcCollectionsDuringRun;
        AnsiConsole.MarkupLine(ic, "elapsed {0:F2} s; GC collections during the run gen0/1/2 {1}/{2}/{3}; stage thread allocated {4:N0} bytes (instrument set-up included); ring full waits {5:N0}", report.Run.Elapsed.TotalSeconds, gc[0], gc[1], gc[2], report.Processor.StageAllocatedBytes, report.Run.FullRingWaits);
        foreach (Pipeline.HandlerFault fault in report.Run.Faults)
        {
            AnsiConsole.MarkupLine(ic, "[red]fault[/] at sequence {0}: {1}", fault.Sequence, Markup.Escape(fault.Exception.ToString()));
        }

        if (report.Run.SourceError is { } error)
        {
            AnsiConsole.MarkupLine("[red]source failed:[/] {0}", Markup.Escape(error.ToString()));
        }

        AnsiConsole.MarkupLine(ic, "predictions {0:N0} → {1}", predictions, Markup.Escape(predictionsPath));
        AnsiConsole.MarkupLine(ic, "predictions sha256 [bold]{0}[/]", sha);
        AnsiConsole.MarkupLine(ic, "latency log → {0} (engine hist {0})", Markup.Escape(hlogPath));
        if (report.MetricsEndPoint is { } metrics)
        {
            AnsiConsole.MarkupLine(ic, "metrics and health were served at http://{0}/metrics, /health/live, /health/ready while the replay ran", metrics);
        }
    }

    /// <summary>Prints <paramref name="message"/> as an error; returns the exit code for bad input or set-up (2).</summary>
    private static int Fail(string message)
    {
        AnsiConsole.MarkupLine("[red]error:[/] {0}", Markup.Escape(message));
        return 2;
    }

    /// <summary>Creates the folder an output file at <paramref name="path"/> goes into (nothing when it exists).</summary>
    private static void CreateParentDirectory(string path) => Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);

    private static void WriteGzip(string path, byte[] bytes)
    {
        CreateParentDirectory(path);
        using FileStream file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.SmallestSize);
        gzip.Write(bytes);
    }
}
