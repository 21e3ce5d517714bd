using Engine.Features;
using Google.Protobuf;
using Onnx;

namespace Engine.Cli.Training;

/// <summary>What training produced.</summary>
/// <param name="Rows">Training rows (triggers with a full label horizon).</param>
/// <param name="Weights">Weights on the raw features (standardization folded in).</param>
/// <param name="Bias">Intercept.</param>
/// <param name="InSampleR2">Coefficient of determination on the training rows.</param>
/// <param name="HorizonMs">Label horizon.</param>
public sealed record TrainingResult(int Rows, float[] Weights, float Bias, double InSampleR2, double HorizonMs);

/// <summary>
/// Builds the bundled demo model: a ridge regression of the mid return over the next
/// <c>horizonMs</c> of event time (in basis points) on the spec's features, computed from the bundled
/// capture by <see cref="OfflineFeatures"/>, written as an ONNX Gemm (opset 13) with a dynamic batch.
/// Deterministic: the same capture and spec give the same model bytes.
/// </summary>
/// <remarks>
/// Features are standardized for the fit (so the ridge penalty treats them alike) and the scaling is
/// folded back into the weights, so the model takes raw features. A small model on purpose: the demo
/// is about the engine's path, not alpha.
/// </remarks>
public static class DemoModelTrainer
{
    /// <summary>Ridge penalty, relative to the number of rows.</summary>
    public const double Lambda = 1e-2;

    /// <summary>Fits the model.</summary>
    public static TrainingResult Fit(IReadOnlyList<FeatureRow> rows, int featureCount, double horizonMs = 1000)
    {
        ArgumentNullException.ThrowIfNull(rows);
        long horizonNs = (long)(horizonMs * 1e6);
        var x = new List<float[]>();
        var y = new List<double>();
        foreach (IGrouping<int, FeatureRow> instrument in rows.GroupBy(r => r.Instrument).OrderBy(g => g.Key))
        {
            FeatureRow[] series = [.. instrument];
            int j = 0;
            for (int i = 0; i < series.Length; i++)
            {
                long target = series[i].TimeNs + horizonNs;
                if (series[^1].TimeNs < target)
                {
                    break;
                }

                // The mid in force at target: the last row at or before it.
                j = Math.Max(j, i);
                while (j + 1 < series.Length && series[j + 1].TimeNs <= target)
                {
                    j++;
                }

                x.Add(series[i].Features);
                y.Add((series[j].Mid - series[i].Mid) / series[i].Mid * 1e4);
            }
        }

        int n = x.Count;
        int f = featureCount;
        if (n <= f)
        {
            throw new InvalidOperationException($"Only {n} labelled rows for {f} features: the capture is too short for a {horizonMs} ms horizon.");
        }

        var mean = new double[f];
        var std = new double[f];
        double meanY = y.Average();
        for (int k = 0; k < f; k++)
        {
            double m = 0;
            for (int i = 0; i < n; i++)
            {
                m += x[i][k];
            }

            m /= n;
            double v = 0;
            for (int i = 0; i < n; i++)
            {
                double d = x[i][k] - m;
                v += d * d;
            }

            mean[k] = m;
            std[k] = Math.Sqrt(v / n) is var s && s > 1e-12 ? s : 1;
        }

        // Normal equations on standardized features: (Z'Z + λnI) w = Z'(y − ȳ).
        var a = new double[f, f];
        var b = new double[f];
        var z = new double[f];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < f; k++)
            {
                z[k] = (x[i][k] - mean[k]) / std[k];
            }

            double yc = y[i] - meanY;
            for (int r = 0; r < f; r++)
            {
                b[r] += z[r] * yc;
                for (int c = 0; c < f; c++)
                {
                    a[r, c] += z[r] * z[c];
                }
            }
        }

        for (int k = 0; k < f; k++)
        {
            a[k, k] += Lambda * n;
        }

        double[] w = Solve(a, b);
        var weights = new float[f];
        double bias = meanY;
        for (int k = 0; k < f; k++)
        {
            weights[k] = (float)(w[k] / std[k]);
            bias -= w[k] * mean[k] / std[k];
        }

        double ssRes = 0;
        double ssTot = 0;
        for (int i = 0; i < n; i++)
        {
            double pred = bias;
            for (int k = 0; k < f; k++)
            {
                pred += weights[k] * (double)x[i][k];
            }

            ssRes += (y[i] - pred) * (y[i] - pred);
            ssTot += (y[i] - meanY) * (y[i] - meanY);
        }

        return new TrainingResult(n, weights, (float)bias, ssTot > 0 ? 1 - (ssRes / ssTot) : 0, horizonMs);
    }

    /// <summary>The ONNX model: <c>score[batch, 1] = Gemm(input[batch, F], W[F, 1], B[1])</c>.</summary>
    public static byte[] ToOnnx(TrainingResult result, FeatureSpec spec)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(spec);
        int f = result.Weights.Length;
        string output = spec.OutputName ?? "score";
        var graph = new GraphProto { Name = "demo_linear_alpha" };
        graph.Input.Add(TensorInfo(spec.InputName, f));
        graph.Output.Add(TensorInfo(output, 1));
        var w = new TensorProto { Name = "W", DataType = (int)TensorProto.Types.DataType.Float };
        w.Dims.Add(f);
        w.Dims.Add(1);
        w.FloatData.Add(result.Weights);
        var bias = new TensorProto { Name = "B", DataType = (int)TensorProto.Types.DataType.Float };
        bias.Dims.Add(1);
        bias.FloatData.Add(result.Bias);
        graph.Initializer.Add(w);
        graph.Initializer.Add(bias);
        var node = new NodeProto { Name = "linear", OpType = "Gemm" };
        node.Input.Add(spec.InputName);
        node.Input.Add("W");
        node.Input.Add("B");
        node.Output.Add(output);
        graph.Node.Add(node);
        graph.DocString = $"Ridge regression of the {result.HorizonMs} ms forward mid return (bps) on: {string.Join(", ", spec.Features.Select(d => d.ColumnName))}. Rows {result.Rows}, in-sample R2 {result.InSampleR2:F4}.";

        var model = new ModelProto
        {
            IrVersion = 7,
            ProducerName = "engine model train-demo",
            ProducerVersion = "1",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        return model.ToByteArray();
    }

    /// <summary>Reads the weights and bias back from a model written by <see cref="ToOnnx"/>.</summary>
    public static (float[] Weights, float Bias) ReadWeights(byte[] onnx)
    {
        ModelProto model = ModelProto.Parser.ParseFrom(onnx);
        TensorProto w = model.Graph.Initializer.Single(t => t.Name == "W");
        TensorProto b = model.Graph.Initializer.Single(t => t.Name == "B");
        return ([.. w.FloatData], b.FloatData[0]);
    }

    private static ValueInfoProto TensorInfo(string name, int width)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = width });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    // Gaussian elimination with partial pivoting; the system is small and positive definite.
    private static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var v = (double[])b.Clone();
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++)
            {
                if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col]))
                {
                    pivot = r;
                }
            }

            if (pivot != col)
            {
                for (int c = 0; c < n; c++)
                {
                    (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
                }

                (v[col], v[pivot]) = (v[pivot], v[col]);
            }

            for (int r = col + 1; r < n; r++)
            {
                double factor = m[r, col] / m[col, col];
                for (int c = col; c < n; c++)
                {
                    m[r, c] -= factor * m[col, c];
                }

                v[r] -= factor * v[col];
            }
        }

        var x = new double[n];
        for (int r = n - 1; r >= 0; r--)
        {
            double s = v[r];
            for (int c = r + 1; c < n; c++)
            {
                s -= m[r, c] * x[c];
            }

            x[r] = s / m[r, r];
        }

        return x;
    }
}
