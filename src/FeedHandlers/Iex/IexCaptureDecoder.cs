using Engine.Events;
using FeedHandlers.Itch;
using FeedHandlers.Pcap;

namespace FeedHandlers.Iex;

/// <summary>Receives the ticks an <see cref="IexCaptureDecoder"/> produces. Implement on a struct (generic argument, direct calls).</summary>
public interface IIexTickSink
{
    /// <summary>One tick; valid during the call only. Return false to stop the decoding (e.g. the pipeline is down).</summary>
    bool OnTick(ref readonly Tick tick);
}

/// <summary>
/// Everything an <see cref="IexCaptureDecoder"/> read, layer by layer: capture records, frames that
/// gave no UDP payload (by <see cref="FrameReject"/>), segments that were not read (by
/// <see cref="SegmentReject"/>), sequence gaps, and messages (read = processed + rejected, by reason).
/// </summary>
/// <remarks>Written by the decoding thread only.</remarks>
public sealed class IexCaptureCounters
{
    private readonly long[] _frames = new long[Enum.GetValues<FrameReject>().Length];
    private readonly long[] _segments = new long[Enum.GetValues<SegmentReject>().Length];

    /// <summary>Messages: read, processed by type byte, rejected by reason, ticks published.</summary>
    public FeedCounters Messages { get; } = new();

    /// <summary>Capture records read (packets, truncated and corrupt records; pcapng blocks without a packet are not counted).</summary>
    public long Records { get; internal set; }

    /// <summary>Records that gave no UDP payload, all reasons.</summary>
    public long FramesRejected { get; internal set; }

    /// <summary>UDP payloads that were IEX-TP segments of TOPS 1.6 or DEEP 1.0 and were read.</summary>
    public long Segments { get; internal set; }

    /// <summary>Segments with no message (heartbeats).</summary>
    public long Heartbeats { get; internal set; }

    /// <summary>UDP payloads that were not read as segments, all reasons.</summary>
    public long SegmentsRejected { get; internal set; }

    /// <summary>Times a segment started past the next expected sequence number.</summary>
    public long SequenceGaps { get; internal set; }

    /// <summary>Messages missing in those gaps.</summary>
    public long MissingMessages { get; internal set; }

    /// <summary>Times the stream started over at sequence 1, stream offset 0, within one session id (the sequence check starts over too).</summary>
    public long StreamRestarts { get; internal set; }

    /// <summary>Segments whose message count disagrees with the messages framed in them.</summary>
    public long MessageCountMismatches { get; internal set; }

    /// <summary>Instrument definitions implied by a symbol's first message (no security directory message seen for it before), flagged <see cref="TickFlags.Synthetic"/>.</summary>
    public long ImpliedDefinitions { get; internal set; }

    /// <summary>Records that gave no UDP payload for <paramref name="reason"/>.</summary>
    public long FramesRejectedFor(FrameReject reason) => _frames[(int)reason];

    /// <summary>Payloads not read as segments for <paramref name="reason"/>.</summary>
    public long SegmentsRejectedFor(SegmentReject reason) => _segments[(int)reason];

    internal void Reject(FrameReject reason)
    {
        FramesRejected++;
        _frames[(int)reason]++;
    }

    internal void Reject(SegmentReject reason)
    {
        SegmentsRejected++;
        _segments[(int)reason]++;
    }
}

/// <summary>
/// IEX TOPS 1.6 / DEEP 1.0 from a packet capture (pcap or pcapng): capture record → Ethernet/IPv4/UDP
/// → IEX-TP segment → messages → <see cref="Tick"/>s, handed to a struct sink. Every layer's bad input
/// is counted in <see cref="Counters"/> under its own reason and decoding goes on; a capture cut short
/// ends with one <see cref="FrameReject.TruncatedRecord"/>.
/// </summary>
/// <remarks>
/// Instruments: IEX names symbols, not ids, so <see cref="Symbols"/> numbers them 1, 2, … in order of
/// first appearance; a symbol first seen in anything but a security directory message gets an
/// <see cref="TickKind.InstrumentDefinition"/> tick (round lot 0 = unknown) flagged
/// <see cref="TickFlags.Synthetic"/> before its message, so books know their symbol.
/// <see cref="Tick.Sequence"/> is the IEX message sequence number; <see cref="Tick.ExchangeTimestampNs"/>
/// is IEX's (ns since the Unix epoch); <see cref="Tick.ReceiveTimestampNs"/> is the capture timestamp
/// (sinks may overwrite it). Allocation-free per packet once the symbol table holds every symbol.
/// Single-threaded.
/// </remarks>
public sealed class IexCaptureDecoder
{
    private long _expectedSequence;
    private uint _session;
    private Tick _tick;

    /// <summary>A decoder with room for <paramref name="expectedSymbols"/> symbols before the table grows.</summary>
    public IexCaptureDecoder(int expectedSymbols = 16_384) => Symbols = new IexSymbols(expectedSymbols);

    /// <summary>What was read.</summary>
    public IexCaptureCounters Counters { get; } = new();

    /// <summary>Symbol ↔ instrument id.</summary>
    public IexSymbols Symbols { get; }

    /// <summary>The protocol of the last segment read (<see cref="IexProtocol.Unknown"/> before any).</summary>
    public IexProtocol Protocol { get; private set; }

    /// <summary>
    /// Decodes the whole <paramref name="capture"/>. False, with the reason, only when it is no pcap or
    /// pcapng capture at all; true otherwise (bad records are counted), also when the sink stopped it.
    /// </summary>
    public bool Run<TSink>(ReadOnlyMemory<byte> capture, ref TSink sink, out string error)
        where TSink : struct, IIexTickSink
    {
        if (!PcapReader.TryOpen(capture, out PcapReader reader, out error))
        {
            return false;
        }

        IexCaptureCounters counters = Counters;
        while (true)
        {
            PcapStatus status = reader.Next(out PcapPacket packet);
            switch (status)
            {
                case PcapStatus.End:
                    return true;
                case PcapStatus.Skipped:
                    continue;
                case PcapStatus.Truncated:
                    counters.Records++;
                    counters.Reject(FrameReject.TruncatedRecord);
                    continue;
                case PcapStatus.Corrupt:
                    counters.Records++;
                    counters.Reject(FrameReject.CorruptRecord);
                    continue;
            }

            counters.Records++;
            if (!UdpFrame.TryExtract(packet.Data, packet.LinkType, out ReadOnlySpan<byte> payload, out _, out FrameReject frameReject))
            {
                counters.Reject(frameReject);
                continue;
            }

            if (!Segment(payload, packet.TimestampNs, ref sink))
            {
                return true;
            }
        }
    }

    /// <summary>Decodes one IEX-TP segment (a UDP payload); false when the sink asked to stop.</summary>
    public bool Segment<TSink>(ReadOnlySpan<byte> segment, long receivedNs, ref TSink sink)
        where TSink : struct, IIexTickSink
    {
        IexCaptureCounters counters = Counters;
        if (!IexTpHeader.TryRead(segment, out IexTpHeader header, out SegmentReject reason))
        {
            counters.Reject(reason);
            return true;
        }

        if (header.SessionId != _session)
        {
            _session = header.SessionId;
            _expectedSequence = 0;
        }
        else if (_expectedSequence > 1 && header.FirstMessageSequence == 1 && header.StreamOffset == 0)
        {
            // The stream starts over at its beginning (a capture joining several runs of a session,
            // as IEX's own sample does): a restart, not a stale segment.
            counters.StreamRestarts++;
            _expectedSequence = 0;
        }

        if (_expectedSequence != 0 && header.FirstMessageSequence < _expectedSequence)
        {
            counters.Reject(SegmentReject.StaleSequence);
            return true;
        }

        if (_expectedSequence != 0 && header.FirstMessageSequence > _expectedSequence)
        {
            counters.SequenceGaps++;
            counters.MissingMessages += header.FirstMessageSequence - _expectedSequence;
        }

        _expectedSequence = header.FirstMessageSequence + header.MessageCount;
        counters.Segments++;
        Protocol = header.Protocol;
        if (header.MessageCount == 0)
        {
            counters.Heartbeats++;
        }

        FeedCounters messages = counters.Messages;
        var frames = new IexMessageFrames(segment[IexTpHeader.Length..]);
        long sequence = header.FirstMessageSequence;
        int framed = 0;
        FrameStatus status;
        while ((status = frames.Next(out ReadOnlySpan<byte> m)) != FrameStatus.End)
        {
            framed++;
            messages.CountRead();
            if (status != FrameStatus.Message)
            {
                messages.CountRejected(status == FrameStatus.EmptyFrame ? RejectReason.EmptyFrame : RejectReason.TruncatedFrame);
                sequence++;
                continue;
            }

            if (!IexNormalizer.TryValidate(header.Protocol, m, out RejectReason messageReject))
            {
                messages.CountRejected(messageReject);
                sequence++;
                continue;
            }

            byte type = m[0];
            int instrument = 0;
            if (IexNormalizer.HasSymbol(type))
            {
                ulong symbol = IexNormalizer.SymbolOf(m);
                instrument = Symbols.IdOf(symbol, out bool added);
                if (added && type != (byte)'D')
                {
                    counters.ImpliedDefinitions++;
                    _tick = default;
                    _tick.Kind = TickKind.InstrumentDefinition;
                    _tick.Instrument = instrument;
                    _tick.RelatedId = symbol;
                    _tick.Flags = TickFlags.Synthetic;
                    _tick.ExchangeTimestampNs = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(m[2..]);
                    if (!Emit(sequence, receivedNs, ref sink))
                    {
                        return false;
                    }
                }
            }

            messages.CountProcessed(type);
            if (IexNormalizer.ProducesTick(type))
            {
                IexNormalizer.Normalize(m, instrument, ref _tick);
                if (!Emit(sequence, receivedNs, ref sink))
                {
                    return false;
                }
            }

            sequence++;
        }

        if (framed != header.MessageCount)
        {
            counters.MessageCountMismatches++;
        }

        return true;
    }

    private bool Emit<TSink>(long sequence, long receivedNs, ref TSink sink)
        where TSink : struct, IIexTickSink
    {
        _tick.Sequence = sequence;
        _tick.ReceiveTimestampNs = receivedNs;
        Counters.Messages.CountPublished();
        return sink.OnTick(in _tick);
    }
}

/// <summary>IEX symbols numbered as instruments 1, 2, … in order of first appearance.</summary>
/// <remarks>Lookup allocation-free; adding a symbol past the initial capacity grows the table (allocates).</remarks>
public sealed class IexSymbols(int capacity)
{
    private readonly Dictionary<ulong, int> _ids = new(capacity);
    private readonly List<ulong> _symbols = new(capacity);

    /// <summary>Symbols seen.</summary>
    public int Count => _symbols.Count;

    /// <summary>The instrument id of a packed symbol (see <see cref="Symbol"/>); <paramref name="added"/> when it is new.</summary>
    public int IdOf(ulong symbol, out bool added)
    {
        if (_ids.TryGetValue(symbol, out int id))
        {
            added = false;
            return id;
        }

        _symbols.Add(symbol);
        id = _symbols.Count;
        _ids.Add(symbol, id);
        added = true;
        return id;
    }

    /// <summary>The symbol of an instrument id (allocates a string; cold path); null when unknown.</summary>
    public string? NameOf(int instrument) => (uint)(instrument - 1) < (uint)_symbols.Count ? Symbol.Unpack(_symbols[instrument - 1]) : null;
}
