// Reads an .hlog with HdrHistogram's Java HistogramLogReader and prints, per tag, the total count,
// p50, p99 and max of all its intervals: "tag count p50 p99 max". Used by HlogJavaTests.
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;

public final class HlogCheck {
    public static void main(String[] args) throws Exception {
        HistogramLogReader reader = new HistogramLogReader(args[0]);
        Map<String, Histogram> byTag = new TreeMap<>();
        EncodableHistogram interval;
        while ((interval = reader.nextIntervalHistogram()) != null) {
            Histogram h = (Histogram) interval;
            String tag = h.getTag() == null ? "(none)" : h.getTag();
            byTag.computeIfAbsent(tag, t -> new Histogram(3)).add(h);
        }

        for (Map.Entry<String, Histogram> e : byTag.entrySet()) {
            Histogram h = e.getValue();
            System.out.println(e.getKey() + " " + h.getTotalCount() + " " + h.getValueAtPercentile(50) + " " + h.getValueAtPercentile(99) + " " + h.getMaxValue());
        }
    }
}
