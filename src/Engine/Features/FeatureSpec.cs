using System.Globalization;
using System.Text.Json;

namespace Engine.Features;

/// <summary>The features the engine computes; each is a function of one instrument's book and trades up to the current event time.</summary>
public enum FeatureKind
{
    /// <summary>(ask − bid) / mid, in basis points.</summary>
    SpreadBps,

    /// <summary>(mid now − mid at event time − horizon) / that mid, in basis points. Needs <c>horizon_ms</c>.</summary>
    MidReturnBps,

    /// <summary>(bid size − ask size) / (bid size + ask size) at the top of book, in [−1, 1].</summary>
    L1Imbalance,

    /// <summary>(microprice − mid) / mid in basis points; microprice = (bid·askSize + ask·bidSize) / (bidSize + askSize).</summary>
    MicropriceOffsetBps,

    /// <summary>Signed traded volume over total traded volume, both decayed with <c>half_life_ms</c> of event time, in [−1, 1]; + when buyers lift offers.</summary>
    TradeSignImbalance,

    /// <summary>(mid − EMA of mid) / mid in basis points; the EMA decays with <c>half_life_ms</c> of event time.</summary>
    MidEmaOffsetBps,

    /// <summary>Event time since the instrument's last trade, in milliseconds (since its first event when none yet), capped at one hour.</summary>
    TimeSinceTradeMs,
}

/// <summary>Which events trigger an inference for their instrument.</summary>
public enum InferenceTrigger
{
    /// <summary>A change of the best bid or ask (price or size) on a two-sided book. The default.</summary>
    TopOfBookChange,

    /// <summary>Every book or trade event on a two-sided book.</summary>
    EveryEvent,

    /// <summary>Top-of-book changes and trades.</summary>
    TopOfBookChangeOrTrade,
}

/// <summary>One entry of a feature spec: a feature and its parameter.</summary>
/// <param name="Kind">The feature.</param>
/// <param name="HorizonMs">Look-back horizon for <see cref="FeatureKind.MidReturnBps"/>; 0 otherwise.</param>
/// <param name="HalfLifeMs">Decay half-life for <see cref="FeatureKind.TradeSignImbalance"/> and <see cref="FeatureKind.MidEmaOffsetBps"/>; 0 otherwise.</param>
public sealed record FeatureDefinition(FeatureKind Kind, double HorizonMs = 0, double HalfLifeMs = 0)
{
    /// <summary>A column name for outputs, e.g. <c>mid_return_bps_1000ms</c>.</summary>
    public string ColumnName => Kind switch
    {
        FeatureKind.MidReturnBps => $"{FeatureSpec.NameOf(Kind)}_{HorizonMs.ToString(CultureInfo.InvariantCulture)}ms",
        FeatureKind.TradeSignImbalance or FeatureKind.MidEmaOffsetBps => $"{FeatureSpec.NameOf(Kind)}_{HalfLifeMs.ToString(CultureInfo.InvariantCulture)}ms",
        _ => FeatureSpec.NameOf(Kind),
    };
}

/// <summary>A feature spec file was malformed; the message says where and what was expected.</summary>
public sealed class FeatureSpecException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FeatureSpecException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public FeatureSpecException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public FeatureSpecException()
    {
    }
}

/// <summary>
/// The contract between features and model: the features, in the order of the model's input vector,
/// the model input they fill, the output read as the prediction and what triggers an inference.
/// Loaded from JSON at start-up (cold path).
/// </summary>
/// <remarks>
/// <code>
/// { "model": "demo.onnx", "input": "features", "output": "score", "trigger": "top_of_book",
///   "features": [ { "name": "spread_bps" }, { "name": "mid_return_bps", "horizon_ms": 1000 } ] }
/// </code>
/// </remarks>
public sealed class FeatureSpec
{
    private static readonly Dictionary<string, FeatureKind> s_byName = new(StringComparer.Ordinal)
    {
        ["spread_bps"] = FeatureKind.SpreadBps,
        ["mid_return_bps"] = FeatureKind.MidReturnBps,
        ["l1_imbalance"] = FeatureKind.L1Imbalance,
        ["microprice_offset_bps"] = FeatureKind.MicropriceOffsetBps,
        ["trade_sign_imbalance"] = FeatureKind.TradeSignImbalance,
        ["mid_ema_offset_bps"] = FeatureKind.MidEmaOffsetBps,
        ["time_since_trade_ms"] = FeatureKind.TimeSinceTradeMs,
    };

    private static readonly Dictionary<string, InferenceTrigger> s_triggers = new(StringComparer.Ordinal)
    {
        ["top_of_book"] = InferenceTrigger.TopOfBookChange,
        ["every_event"] = InferenceTrigger.EveryEvent,
        ["top_of_book_or_trade"] = InferenceTrigger.TopOfBookChangeOrTrade,
    };

    /// <summary>Creates a spec in code.</summary>
    public FeatureSpec(IReadOnlyList<FeatureDefinition> features, string inputName, string? outputName = null, string? modelPath = null, InferenceTrigger trigger = InferenceTrigger.TopOfBookChange, string source = "(in code)")
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputName);
        if (features.Count == 0)
        {
            throw new FeatureSpecException($"{source}: the spec lists no features.");
        }

        Features = features;
        InputName = inputName;
        OutputName = outputName;
        ModelPath = modelPath;
        Trigger = trigger;
        Source = source;
    }

    /// <summary>Features in the order of the model's input vector.</summary>
    public IReadOnlyList<FeatureDefinition> Features { get; }

    /// <summary>Number of features (the model input's last dimension).</summary>
    public int Count => Features.Count;

    /// <summary>Name of the model input the features fill.</summary>
    public string InputName { get; }

    /// <summary>Name of the model output read as the prediction; null means the model's first output.</summary>
    public string? OutputName { get; }

    /// <summary>Model path (absolute, resolved against the spec file's folder), or null when the spec names none.</summary>
    public string? ModelPath { get; }

    /// <summary>What triggers an inference.</summary>
    public InferenceTrigger Trigger { get; }

    /// <summary>Where the spec came from (a path, or "(in code)"), for messages.</summary>
    public string Source { get; }

    /// <summary>The spec's name for a feature kind.</summary>
    public static string NameOf(FeatureKind kind) => s_byName.First(p => p.Value == kind).Key;

    /// <summary>Loads and validates a spec file. Throws <see cref="FeatureSpecException"/> naming the file and the problem.</summary>
    public static FeatureSpec Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FeatureSpecException($"Feature spec '{full}' does not exist.");
        }

        return Parse(File.ReadAllText(full), full, Path.GetDirectoryName(full));
    }

    /// <summary>Parses a spec from JSON text; <paramref name="baseDirectory"/> resolves a relative model path.</summary>
    public static FeatureSpec Parse(string json, string source = "(text)", string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new FeatureSpecException($"{source}: not valid JSON ({ex.Message}).", ex);
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FeatureSpecException($"{source}: the top level must be an object with 'input' and 'features'.");
            }

            string input = RequiredString(root, "input", source);
            string? output = OptionalString(root, "output", source);
            string? model = OptionalString(root, "model", source);
            if (model is not null && baseDirectory is not null && !Path.IsPathRooted(model))
            {
                model = Path.GetFullPath(Path.Combine(baseDirectory, model));
            }

            InferenceTrigger trigger = InferenceTrigger.TopOfBookChange;
            if (OptionalString(root, "trigger", source) is { } triggerName && !s_triggers.TryGetValue(triggerName, out trigger))
            {
                throw new FeatureSpecException($"{source}: unknown trigger '{triggerName}'; expected one of {string.Join(", ", s_triggers.Keys)}.");
            }

            if (!root.TryGetProperty("features", out JsonElement list) || list.ValueKind != JsonValueKind.Array)
            {
                throw new FeatureSpecException($"{source}: 'features' must be an array of {{\"name\": ...}} objects.");
            }

            var features = new List<FeatureDefinition>();
            int index = 0;
            foreach (JsonElement item in list.EnumerateArray())
            {
                features.Add(ParseFeature(item, $"{source}: features[{index}]"));
                index++;
            }

            return new FeatureSpec(features, input, output, model, trigger, source);
        }
    }

    private static FeatureDefinition ParseFeature(JsonElement item, string where)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new FeatureSpecException($"{where}: expected an object like {{\"name\": \"spread_bps\"}}.");
        }

        string name = RequiredString(item, "name", where);
        if (!s_byName.TryGetValue(name, out FeatureKind kind))
        {
            throw new FeatureSpecException($"{where}: unknown feature '{name}'; known features are {string.Join(", ", s_byName.Keys)}.");
        }

        double horizon = OptionalPositive(item, "horizon_ms", where);
        double halfLife = OptionalPositive(item, "half_life_ms", where);
        switch (kind)
        {
            case FeatureKind.MidReturnBps when horizon <= 0:
                throw new FeatureSpecException($"{where}: '{name}' needs a positive 'horizon_ms'.");
            case FeatureKind.TradeSignImbalance or FeatureKind.MidEmaOffsetBps when halfLife <= 0:
                throw new FeatureSpecException($"{where}: '{name}' needs a positive 'half_life_ms'.");
            default:
                break;
        }

        return new FeatureDefinition(kind, horizon, halfLife);
    }

    private static string RequiredString(JsonElement obj, string property, string where) =>
        OptionalString(obj, property, where) ?? throw new FeatureSpecException($"{where}: missing string property '{property}'.");

    private static string? OptionalString(JsonElement obj, string property, string where)
    {
        if (!obj.TryGetProperty(property, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
        {
            throw new FeatureSpecException($"{where}: '{property}' must be a non-empty string.");
        }

        return value.GetString();
    }

    private static double OptionalPositive(JsonElement obj, string property, string where)
    {
        if (!obj.TryGetProperty(property, out JsonElement value))
        {
            return 0;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double d) || !(d > 0) || double.IsInfinity(d))
        {
            throw new FeatureSpecException($"{where}: '{property}' must be a positive number of milliseconds.");
        }

        return d;
    }
}
