using System.Runtime.CompilerServices;
using Engine.Events;
using FeedHandlers.Itch;
using FeedHandlers.Lobster;

namespace Engine.Cli.Lobster;

/// <summary>What converting one LOBSTER file pair to ITCH produced.</summary>
/// <param name="Data">The input.</param>
/// <param name="Itch">The ITCH 5.0 stream (BinaryFILE framing).</param>
/// <param name="RowEnds">For row i (0-based), the number of ITCH messages written up to and including its message: the book after row i is the book after that many messages.</param>
/// <param name="Rejected">LOBSTER rows rejected, by reason (none in well-formed files); a rejected row writes no message.</param>
/// <param name="Stats">What the order flow needed beyond a one-to-one translation (synthetic orders, unknown ids, ...).</param>
/// <param name="SyntheticMessages">ITCH messages marked synthetic (tracking number <see cref="LobsterToItch.SyntheticTrackingNumber"/>).</param>
/// <param name="Messages">ITCH messages written in all.</param>
internal sealed record LobsterConversion(LobsterData Data, byte[] Itch, long[] RowEnds, FeedCounters Rejected, LobsterFlowStats Stats, long SyntheticMessages, long Messages);

/// <summary>
/// LOBSTER → NASDAQ TotalView-ITCH 5.0: each LOBSTER row becomes the ITCH messages of the ticks
/// <see cref="LobsterOrderFlow"/> makes of it (add 'A', execution 'E', cancel 'X', delete 'D',
/// hidden execution 'P' trade, cross 'Q', halt 'H'), synthetic ones first. The stream opens with a
/// system event 'O' and a stock directory 'R' for the ticker (stock locate 1, round lot 100) and
/// closes with a system event 'C'.
/// </summary>
/// <remarks>
/// ITCH has no flag for made-up messages, so synthetic ones carry the tracking number
/// <see cref="SyntheticTrackingNumber"/> (NASDAQ's internal field; 0 on every other message) and
/// synthetic orders have ids from <see cref="LobsterOrderFlow.SyntheticIdBase"/> up. Cold path (a
/// tool): allocates the output.
/// </remarks>
internal static class LobsterToItch
{
    /// <summary>Tracking number of the synthetic messages ("SY").</summary>
    public const ushort SyntheticTrackingNumber = 0x5359;

    /// <summary>Stock locate of the converted instrument.</summary>
    public const ushort Locate = 1;

    public static LobsterConversion Convert(LobsterData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var writer = new ItchWriter(data.Messages.Length * 2);
        var flow = new LobsterOrderFlow(data.Levels, Locate);
        var rejected = new FeedCounters();
        var rowEnds = new List<long>(data.Messages.Length / 32);
        var sink = new ItchSink(writer, data.Ticker);
        LobsterReader reader = data.Reader();
        var row = new long[reader.RowWidth];
        long last = 0;
        bool started = false;
        LobsterReadStatus status;
        while ((status = reader.Next(out LobsterMessage message, row, out RejectReason reason)) != LobsterReadStatus.End)
        {
            rejected.CountRead();
            if (status == LobsterReadStatus.Rejected)
            {
                rejected.CountRejected(reason);
            }
            else
            {
                if (!started)
                {
                    writer.SystemEvent(message.TimeNs, 'O');
                    writer.StockDirectory(Locate, message.TimeNs, data.Ticker, 100);
                    started = true;
                }

                rejected.CountProcessed((byte)('0' + (int)message.Type));
                flow.Process(in message, row, reader.Rows, ref sink);
                last = message.TimeNs;
            }

            rowEnds.Add(writer.Messages);
        }

        if (started)
        {
            writer.SystemEvent(last, 'C');
        }

        return new LobsterConversion(data, writer.ToArray(), [.. rowEnds], rejected, flow.Stats, sink.Synthetic.Value, writer.Messages);
    }

    private readonly struct ItchSink(ItchWriter writer, string symbol) : ILobsterTickSink
    {
        public readonly StrongBox<long> Synthetic = new();

        public void OnTick(ref readonly Tick t)
        {
            bool synthetic = (t.Flags & TickFlags.Synthetic) != 0;
            writer.TrackingNumber = synthetic ? SyntheticTrackingNumber : (ushort)0;
            if (synthetic)
            {
                Synthetic.Value++;
            }

            long time = t.ExchangeTimestampNs;
            switch (t.Kind)
            {
                case TickKind.AddOrder:
                    writer.AddOrder(Locate, time, t.OrderId, t.Side, checked((uint)t.Quantity), symbol, t.Price);
                    break;
                case TickKind.OrderExecuted:
                    writer.OrderExecuted(Locate, time, t.OrderId, checked((uint)t.Quantity), t.RelatedId);
                    break;
                case TickKind.OrderCancel:
                    writer.OrderCancel(Locate, time, t.OrderId, checked((uint)t.Quantity));
                    break;
                case TickKind.OrderDelete:
                    writer.OrderDelete(Locate, time, t.OrderId);
                    break;
                case TickKind.Trade:
                    writer.Trade(Locate, time, t.OrderId, t.Side, checked((uint)t.Quantity), symbol, t.Price, t.RelatedId);
                    break;
                case TickKind.CrossTrade:
                    // LOBSTER does not say which cross: before noon it is the opening one.
                    writer.CrossTrade(Locate, time, (ulong)t.Quantity, symbol, t.Price, t.RelatedId, time < 12L * 3600 * 1_000_000_000 ? 'O' : 'C');
                    break;
                case TickKind.TradingStatus:
                    writer.StockTradingAction(Locate, time, symbol, (char)t.Aux);
                    break;
                default:
                    throw new InvalidOperationException($"LobsterOrderFlow produced a {t.Kind} tick, which has no ITCH mapping here.");
            }

            writer.TrackingNumber = 0;
        }
    }
}
