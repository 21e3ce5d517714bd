using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Engine.Signals;

namespace Engine.Replay;

/// <summary>
/// Predictions kept in memory during a run (struct-of-arrays, preallocated) and written as CSV
/// afterwards, so the signal path never formats or does I/O.
/// </summary>
/// <remarks>
/// <see cref="Append"/> is allocation-free until the preallocated capacity is used up; then it
/// doubles (a cold path that allocates). One writer thread.
/// </remarks>
public sealed class PredictionLog
{
    private long[] _sequence;
    private long[] _exchangeTime;
    private int[] _instrument;
    private float[] _prediction;

    /// <summary>Creates a log with room for <paramref name="capacity"/> predictions.</summary>
    public PredictionLog(int capacity = 1 << 16)
    {
        capacity = Math.Max(16, capacity);
        _sequence = new long[capacity];
        _exchangeTime = new long[capacity];
        _instrument = new int[capacity];
        _prediction = new float[capacity];
    }

    /// <summary>Predictions recorded.</summary>
    public int Count { get; private set; }

    /// <summary>Times the arrays grew.</summary>
    public int Resizes { get; private set; }

    /// <summary>Records one prediction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(long sequence, int instrument, long exchangeTimeNs, float prediction)
    {
        int i = Count;
        if (i == _sequence.Length)
        {
            Grow();
        }

        _sequence[i] = sequence;
        _instrument[i] = instrument;
        _exchangeTime[i] = exchangeTimeNs;
        _prediction[i] = prediction;
        Count = i + 1;
    }

    /// <summary>
    /// Writes <c>sequence,instrument,symbol,exchange_time_ns,prediction</c> rows (invariant culture,
    /// shortest round-trip floats, LF line ends): the same predictions give the same bytes.
    /// </summary>
    public void WriteCsv(TextWriter writer, Func<int, string> symbolOf)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(symbolOf);
        writer.Write("sequence,instrument,symbol,exchange_time_ns,prediction\n");
        var symbols = new Dictionary<int, string>();
        var line = new StringBuilder(96);
        for (int i = 0; i < Count; i++)
        {
            int instrument = _instrument[i];
            if (!symbols.TryGetValue(instrument, out string? symbol))
            {
                symbol = symbolOf(instrument);
                symbols[instrument] = symbol;
            }

            line.Clear();
            line.Append(_sequence[i].ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(instrument.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(symbol).Append(',')
                .Append(_exchangeTime[i].ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(_prediction[i].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            writer.Write(line);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow()
    {
        int size = _sequence.Length * 2;
        Array.Resize(ref _sequence, size);
        Array.Resize(ref _exchangeTime, size);
        Array.Resize(ref _instrument, size);
        Array.Resize(ref _prediction, size);
        Resizes++;
    }
}

/// <summary>Signal handler that appends each prediction to a <see cref="PredictionLog"/>.</summary>
public readonly struct PredictionLogHandler : ISignalHandler
{
    /// <summary>Writes into <paramref name="log"/>.</summary>
    public PredictionLogHandler(PredictionLog log) => Log = log;

    /// <summary>The log.</summary>
    public PredictionLog Log { get; }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnSignal(in Signal signal) => Log.Append(signal.Sequence, signal.Instrument, signal.ExchangeTimestampNs, signal.Prediction);
}
