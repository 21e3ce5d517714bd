using Engine.Events;
using Engine.Native;
using Engine.Pipeline;

namespace FeedHandlers.Lobster;

/// <summary>
/// LOBSTER as an engine input: reads a message file with its orderbook file, turns each row into
/// order-level ticks with <see cref="LobsterOrderFlow"/> (synthetic ones flagged
/// <see cref="TickFlags.Synthetic"/>) and publishes them into the ring, as fast as the pipeline takes
/// them. Runs on the pipeline's producer thread.
/// </summary>
/// <remarks>
/// Every row is counted: read = processed (by LOBSTER event type, '1'…'7') + rejected (by reason).
/// <see cref="Tick.Sequence"/> is the row number (1-based; the synthetic ticks before a message share
/// its row), <see cref="Tick.ReceiveTimestampNs"/> the time the row was read. No allocation per row
/// while the order flow's preallocated table suffices.
/// </remarks>
public sealed class LobsterReplaySource : ITickSource
{
    private readonly LobsterData _data;
    private readonly long[] _row;

    /// <summary>Replays <paramref name="data"/> as instrument <paramref name="instrument"/>.</summary>
    public LobsterReplaySource(LobsterData data, int instrument = 1)
    {
        ArgumentNullException.ThrowIfNull(data);
        _data = data;
        _row = new long[4 * data.Levels];
        Flow = new LobsterOrderFlow(data.Levels, instrument);
        Instrument = instrument;
    }

    /// <summary>Instrument id of the ticks.</summary>
    public int Instrument { get; }

    /// <summary>The order flow (its <see cref="LobsterOrderFlow.Stats"/> say how many synthetic orders were needed).</summary>
    public LobsterOrderFlow Flow { get; }

    /// <inheritdoc />
    public string Description => $"LOBSTER {_data.Source} ({_data.Ticker}, {_data.Levels} levels)";

    /// <inheritdoc />
    public FeedCounters Counters { get; } = new();

    /// <inheritdoc />
    public void Run(TickPublisher publisher, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        LobsterReader reader = _data.Reader();
        long[] row = _row;
        var sink = new PublishingSink(publisher, Counters);
        FeedCounters counters = Counters;

        // LOBSTER files carry no reference data: announce the ticker as the instrument's definition
        // (flagged synthetic) so the book and the outputs know its symbol.
        sink.ReceivedNs = MonotonicClock.NowNs();
        var definition = new Tick
        {
            Kind = TickKind.InstrumentDefinition,
            Instrument = Instrument,
            RelatedId = Symbol.Pack(_data.Ticker.Length <= 8 ? _data.Ticker : _data.Ticker[..8]),
            Flags = TickFlags.Synthetic,
        };
        sink.OnTick(in definition);
        LobsterReadStatus status;
        while ((status = reader.Next(out LobsterMessage message, row, out RejectReason reason)) != LobsterReadStatus.End)
        {
            counters.CountRead();
            if (status == LobsterReadStatus.Rejected)
            {
                counters.CountRejected(reason);
                continue;
            }

            sink.ReceivedNs = MonotonicClock.NowNs();
            Flow.Process(in message, row, reader.Rows, ref sink);
            counters.CountProcessed((byte)('0' + (int)message.Type));
            if (sink.Down || ((reader.Rows & 0xFFF) == 0 && cancellationToken.IsCancellationRequested))
            {
                return;
            }
        }
    }

    private struct PublishingSink(TickPublisher publisher, FeedCounters counters) : ILobsterTickSink
    {
        public long ReceivedNs;
        public bool Down;

        public void OnTick(ref readonly Tick tick)
        {
            if (Down || !publisher.Claim(out long sequence))
            {
                Down = true;
                return;
            }

            ref Tick slot = ref publisher[sequence];
            slot = tick;
            slot.ReceiveTimestampNs = ReceivedNs;
            publisher.Publish(sequence);
            counters.CountPublished();
        }
    }
}
