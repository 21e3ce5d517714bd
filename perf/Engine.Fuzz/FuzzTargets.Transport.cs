using System.Buffers.Binary;
using Engine.Events;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using FeedHandlers.MoldUdp;

namespace Engine.Fuzz;

/// <summary>The transport-side targets: MoldUDP64 packets through the A/B arbiter, and the engine capture format.</summary>
public static partial class FuzzTargets
{
    /// <summary>
    /// MoldUDP64: the input is a run of datagrams, each <c>[control byte][u16 big-endian length][bytes]</c>
    /// (a length past the end takes what is left). The control byte's low bit picks the line, the rest
    /// advances the clock by that many 100 µs steps, so holes time out. The first byte sets the arbiter
    /// (1 or 2 lines, 1–8 held packets, session start fixed at 1 or taken from the first packet). Every
    /// packet is parsed on its own (its blocks must match its count) and offered to the arbiter; the sink
    /// checks that it gets every sequence number exactly once, in order, as a message or inside a gap, and
    /// the feed counts must balance at the end.
    /// </summary>
    public static long MoldUdp(byte[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Length == 0)
        {
            return 0;
        }

        byte setup = input[0];
        int lines = 1 + (setup & 1);
        var counters = new FeedCounters();
        var state = new SequenceCheck { Counters = counters, Next = (setup & 0x10) == 0 ? 1 : -1 };
        var options = new MoldUdp64ArbiterOptions
        {
            Lines = lines,
            HeldPackets = 1 + ((setup >> 1) & 7),
            GapTimeoutNs = 1_000_000,
            MaxPacketBytes = 1500,
            FirstSequence = (setup & 0x10) == 0 ? 1 : null,
        };
        var arbiter = new MoldUdp64Arbiter<CheckingSink>(options, new CheckingSink(state), counters);
        long clock = 0;
        int at = 1;
        while (at < input.Length)
        {
            byte control = input[at++];
            int length = at + 2 <= input.Length ? BinaryPrimitives.ReadUInt16BigEndian(input.AsSpan(at)) : 0;
            at = Math.Min(at + 2, input.Length);
            length = Math.Min(length, input.Length - at);
            ReadOnlySpan<byte> packet = input.AsSpan(at, length);
            at += length;
            clock += (control >> 1) * 100_000L;
            CheckPacket(packet);
            Check(arbiter.Offer((control & 1) % lines, packet, clock, clock), "the sink never stops the arbiter");
            if ((control & 0xF0) == 0xF0)
            {
                Check(arbiter.Advance(clock + 2_000_000, clock), "an idle poll never stops the arbiter");
            }
        }

        Check(arbiter.FlushHoles(clock), "flushing never stops the arbiter");
        Check(arbiter.HeldNow == 0, "packets still held after the flush");
        Check(counters.Read == counters.Processed + counters.Rejected, "MoldUDP64: read != processed + rejected");
        Check(arbiter.DeliveredMessages == state.Delivered && arbiter.MissedMessages == state.Missed, "the arbiter's counts disagree with what the sink got");
        Check(arbiter.DatagramsReceived == state.Packets, "datagrams offered != datagrams the lines counted");
        return state.Delivered;

        void CheckPacket(ReadOnlySpan<byte> packet)
        {
            state.Packets++;
            if (!MoldUdp64.TryParse(packet, out MoldUdp64Header header, out _))
            {
                return;
            }

            var blocks = new MoldUdp64BlockReader(packet);
            int count = 0;
            while (blocks.Next(out _))
            {
                count++;
            }

            Check(count == header.MessageCount, "a validated packet's blocks disagree with its message count");
        }
    }

    /// <summary>
    /// The engine capture reader: the input as a capture file, read chunk by chunk (resync past damage,
    /// CRC checks, the MemoryPack header and summary), and again with every CRC it holds recomputed, so
    /// that mutations also reach the header, record and summary decoding behind the checksums. The
    /// records of each valid chunk go through the MoldUDP64 arbiter as in a replay. A capture that cannot
    /// be opened must say so with <see cref="CaptureFormatException"/>.
    /// </summary>
    public static long Capture(byte[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        long records = ReadCapture(input);
        byte[] sealed_ = (byte[])input.Clone();
        Reseal(sealed_);
        return records + ReadCapture(sealed_);
    }

    private static long ReadCapture(byte[] input)
    {
        CaptureReader reader;
        try
        {
            reader = new CaptureReader(new MemoryStream(input, writable: false));
        }
        catch (CaptureFormatException)
        {
            return 0;
        }

        using (reader)
        {
            var counters = new FeedCounters();
            var state = new SequenceCheck { Counters = counters, Next = 1 };
            var arbiter = new MoldUdp64Arbiter<CheckingSink>(new MoldUdp64ArbiterOptions { Lines = 2, GapTimeoutNs = 1_000_000 }, new CheckingSink(state), counters);
            long records = 0;
            long statuses = 0;
            CaptureReadStatus status;
            while ((status = reader.Next(out CaptureChunk chunk)) != CaptureReadStatus.End)
            {
                Check(++statuses <= input.Length + 1, "the reader does not move on");
                if (status == CaptureReadStatus.Corrupt)
                {
                    Check(reader.LastCorruption != CaptureCorruption.None && reader.LastCorruptionOffset <= input.Length, "a damaged stretch without a reason or past the end");
                    continue;
                }

                Check(chunk.Offset + CaptureFormat.ChunkHeaderLength + chunk.Payload.Length <= input.Length, "a chunk past the end of the input");
                if (chunk.Kind != CaptureChunkKind.Records)
                {
                    continue;
                }

                CaptureRecordReader walk = chunk.Records;
                while (walk.Next(out CaptureRecord record))
                {
                    records++;
                    if (record.Truncated || record.Line >= 2)
                    {
                        arbiter.RejectDatagram(Math.Min(record.Line, 1), record.Truncated ? RejectReason.TruncatedFrame : RejectReason.InvalidField);
                    }
                    else
                    {
                        Check(arbiter.Offer(record.Line, record.Data, record.ReceivedNs, record.ReceivedNs), "the sink never stops the arbiter");
                    }
                }
            }

            Check(reader.Next(out _) == CaptureReadStatus.End, "End is not final");
            Check(reader.SkippedBytes <= input.Length, "skipped more bytes than the input has");
            Check(arbiter.FlushHoles(0), "flushing never stops the arbiter");
            Check(counters.Read == counters.Processed + counters.Rejected, "capture replay: read != processed + rejected");
            return records;
        }
    }

    // Recomputes the header CRC and, at every chunk magic whose length fits, the payload and header CRCs.
    private static void Reseal(byte[] b)
    {
        if (b.Length < CaptureFormat.PreambleLength || !CaptureFormat.IsCapture(b))
        {
            return;
        }

        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(12));
        if (headerLength < 0 || headerLength > b.Length - CaptureFormat.PreambleLength - 4)
        {
            return;
        }

        int at = CaptureFormat.PreambleLength + headerLength;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), Crc32C.Compute(b.AsSpan(CaptureFormat.PreambleLength, headerLength)));
        at += 4;
        while (at + CaptureFormat.ChunkHeaderLength <= b.Length)
        {
            Span<byte> h = b.AsSpan(at, CaptureFormat.ChunkHeaderLength);
            int payload = BinaryPrimitives.ReadInt32LittleEndian(h[8..]);
            if (BinaryPrimitives.ReadUInt32LittleEndian(h) != CaptureFormat.ChunkMagic || payload < 0 || payload > b.Length - at - CaptureFormat.ChunkHeaderLength)
            {
                at++;
                continue;
            }

            BinaryPrimitives.WriteUInt32LittleEndian(h[24..], Crc32C.Compute(b.AsSpan(at + CaptureFormat.ChunkHeaderLength, payload)));
            BinaryPrimitives.WriteUInt32LittleEndian(h[28..], Crc32C.Compute(h[..28]));
            at += CaptureFormat.ChunkHeaderLength + payload;
        }
    }

    // What the arbiter handed over, checked as it arrives.
    private sealed class SequenceCheck
    {
        public required FeedCounters Counters { get; init; }

        // The sequence number due next; -1 until the first (when the session start is taken from the first packet).
        public long Next { get; set; }

        public long Delivered { get; set; }

        public long Missed { get; set; }

        public long Packets { get; set; }
    }

    private readonly struct CheckingSink(SequenceCheck state) : IMoldUdp64Sink
    {
        public bool OnMessage(ReadOnlySpan<byte> message, long sequence, long stampNs)
        {
            Check(state.Next < 0 || sequence == state.Next, "a message out of order, repeated, or past an unreported hole");
            state.Next = sequence + 1;
            state.Delivered++;
            if (ItchNormalizer.Classify(message, out RejectReason reason) == ItchDisposition.Rejected)
            {
                state.Counters.CountRejected(reason);
            }
            else
            {
                state.Counters.CountProcessed(message[0]);
            }

            return true;
        }

        public bool OnGap(long firstMissing, long count, long stampNs)
        {
            Check(count > 0 && (state.Next < 0 || firstMissing == state.Next), "a gap that is empty or does not start at the next sequence number");
            state.Next = firstMissing + count;
            state.Missed += count;
            return true;
        }
    }
}
