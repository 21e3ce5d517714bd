using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Engine.Native;
using Onnx;

namespace Engine.Inference.Compiled;

/// <summary>
/// Reads an ONNX graph (through OnnxSharp's protobuf types) and compiles it into a <see cref="CompiledModel"/>
/// when every operator is one the managed kernels implement:
/// Gemm, MatMul, Add, Sub, Mul, Div, Relu, Tanh, Sigmoid, Softmax, Split, GRU, LSTM, data movement
/// (Identity, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Gather), shape arithmetic folded at compile
/// time (Constant, Shape, ConstantOfShape, Concat, Cast), and ai.onnx.ml TreeEnsembleRegressor,
/// TreeEnsembleClassifier, ZipMap, Scaler, LinearRegressor, LinearClassifier and Normalizer.
/// </summary>
/// <remarks>
/// Cold path (milliseconds): shapes are resolved from <see cref="ModelOptions.BatchSize"/> and
/// <see cref="ModelOptions.SymbolicDimensions"/> as <see cref="OnnxModel"/> does, constants are folded,
/// bias adds and activations are fused into the dense layer before them, weights are packed into pinned
/// aligned memory, and every buffer address is fixed. Thread-safe (no shared state).
/// </remarks>
public static class ModelCompiler
{
    /// <summary>The operators the compiled path implements, for messages.</summary>
    public const string SupportedOperators = "Gemm, MatMul, Add, Sub, Mul, Div, Relu, Tanh, Sigmoid, Softmax, Split, GRU, LSTM, Identity, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Gather, Constant, Shape, ConstantOfShape, Concat, Cast; ai.onnx.ml TreeEnsembleRegressor, TreeEnsembleClassifier, ZipMap, Scaler, LinearRegressor, LinearClassifier, Normalizer";

    /// <summary>
    /// Compiles the model at <paramref name="path"/>. Returns false, with <paramref name="whyNot"/> naming the
    /// operator, type or attribute the compiled path does not handle (or the file problem), when it cannot.
    /// </summary>
    public static bool TryCompile(string path, ModelOptions? options, [NotNullWhen(true)] out CompiledModel? model, out string whyNot)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new ModelOptions();
        model = null;
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            whyNot = $"model file '{full}' does not exist";
            return false;
        }

        var clock = Stopwatch.StartNew();
        byte[] bytes = File.ReadAllBytes(full);
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException ex)
        {
            whyNot = $"'{full}' is not an ONNX model: {ex.Message}";
            return false;
        }

        var builder = new Builder(proto, options);
        try
        {
            model = builder.Build(full, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
        catch (NotCompilableException ex)
        {
            builder.DisposeAll();
            whyNot = ex.Message;
            return false;
        }

        model.Warmup(options.WarmupRuns);
        model.AddLoadTime(clock.Elapsed);
        whyNot = string.Empty;
        return true;
    }

    private sealed class NotCompilableException(string message) : Exception(message);

    /// <summary>A value of the graph: a folded constant, or a runtime float tensor at (slot, offset).</summary>
    private sealed class Val(string name, long[] shape)
    {
        public string Name { get; } = name;

        public long[] Shape { get; } = shape;

        public float[]? Floats { get; init; }

        public long[]? Longs { get; init; }

        public int Slot { get; init; } = -1;

        public int Offset { get; init; }

        public CompiledOutputKind Kind { get; init; } = CompiledOutputKind.Tensor;

        public string[] Labels { get; init; } = [];

        public bool IsConstant => Slot < 0;

        public int Count => checked((int)OnnxGraph.ElementCount(Shape));
    }

    private sealed unsafe class Builder(ModelProto proto, ModelOptions options)
    {
        private readonly Dictionary<string, Val> _values = new(StringComparer.Ordinal);
        private readonly List<int> _slotSizes = [];
        private readonly Dictionary<int, ModelTensor> _boundSlots = [];
        private readonly List<nint> _slotAddress = [];
        private readonly List<Func<Kernel>> _plan = [];
        private readonly List<IDisposable> _owned = [];
        private readonly List<ModelTensor> _tensors = [];
        private readonly List<Kernel> _kernels = [];
        private readonly Dictionary<string, int> _consumers = new(StringComparer.Ordinal);
        private readonly HashSet<string> _graphOutputs = new(StringComparer.Ordinal);
        private readonly Dictionary<Val, nint> _constantAddress = [];
        private readonly long _opset = OnnxGraph.DefaultOpset(proto);
        private long _weightBytes;
        private NodeProto[] _nodes = [];
        private readonly HashSet<int> _fused = [];
        private readonly Dictionary<string, IReadOnlyList<float[]>> _probes = new(StringComparer.Ordinal);
        private readonly Dictionary<int, (string Input, float[] Offset, float[] Scale)> _scaled = [];
        private readonly Dictionary<int, string> _inputSlots = [];

        public CompiledModel Build(string path, string sha)
        {
            GraphProto g = proto.Graph ?? throw new NotCompilableException("the model has no graph");
            _nodes = [.. g.Node];
            foreach (NodeProto n in _nodes)
            {
                foreach (string i in n.Input)
                {
                    _consumers[i] = _consumers.GetValueOrDefault(i) + 1;
                }
            }

            foreach (ValueInfoProto o in g.Output)
            {
                _graphOutputs.Add(o.Name);
                _consumers[o.Name] = _consumers.GetValueOrDefault(o.Name) + 1;
            }

            foreach (TensorProto t in g.Initializer)
            {
                _values[t.Name] = Constant(t.Name, t);
            }

            var inputs = new List<ModelTensor>();
            foreach (ValueInfoProto i in g.Input)
            {
                if (_values.ContainsKey(i.Name))
                {
                    continue; // an initializer listed as an input (IR < 4): a constant here, as ORT treats it by default
                }

                long[] shape = ResolveInput(i);
                var tensor = new ModelTensor(i.Name, shape);
                _tensors.Add(tensor);
                inputs.Add(tensor);
                int slot = NewSlot(tensor.ElementCount);
                _boundSlots[slot] = tensor;
                _inputSlots[slot] = i.Name;
                _values[i.Name] = new Val(i.Name, shape) { Slot = slot };
            }

            for (int n = 0; n < _nodes.Length; n++)
            {
                if (!_fused.Contains(n))
                {
                    Compile(n);
                }
            }

            var outputs = new List<ModelTensor>();
            var info = new List<CompiledOutput>();
            var usedSlots = new HashSet<int>();
            foreach (ValueInfoProto o in g.Output)
            {
                Val v = Get(o.Name, "graph output");
                var tensor = new ModelTensor(o.Name, v.Shape);
                _tensors.Add(tensor);
                outputs.Add(tensor);
                info.Add(new CompiledOutput(o.Name, v.Kind, v.Labels));
                if (!v.IsConstant && v.Offset == 0 && _slotSizes[v.Slot] == v.Count && !_boundSlots.ContainsKey(v.Slot) && usedSlots.Add(v.Slot))
                {
                    _boundSlots[v.Slot] = tensor; // the producing kernel writes straight into the output
                }
                else if (v.IsConstant)
                {
                    ConstantFloats(v).CopyTo(tensor.Span);
                }
                else
                {
                    Val source = v;
                    _plan.Add(() => new CopyKernel(Ptr(source), (float*)Address(tensor), source.Count, null, $"copy to output '{tensor.Name}'"));
                }
            }

            for (int s = 0; s < _slotSizes.Count; s++)
            {
                if (_boundSlots.TryGetValue(s, out ModelTensor? t))
                {
                    _slotAddress.Add(Address(t));
                    continue;
                }

                var buffer = new AlignedBuffer<float>(Math.Max(1, _slotSizes[s]));
                _owned.Add(buffer);
                _slotAddress.Add(buffer.Address);
            }

            foreach (Func<Kernel> make in _plan)
            {
                _kernels.Add(make());
            }

            _weightBytes += _owned.OfType<AlignedBuffer<float>>().Sum(b => b.SizeInBytes);
            return new CompiledModel(path, sha, [.. inputs], [.. outputs], [.. info], [.. _kernels], [.. _owned], _weightBytes, TimeSpan.Zero, _probes);
        }

        public void DisposeAll()
        {
            foreach (Kernel k in _kernels)
            {
                k.Dispose();
            }

            foreach (IDisposable d in _owned)
            {
                d.Dispose();
            }

            foreach (ModelTensor t in _tensors)
            {
                t.Dispose();
            }
        }

        private static nint Address(ModelTensor t) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.Span));

        private int NewSlot(int size)
        {
            _slotSizes.Add(size);
            return _slotSizes.Count - 1;
        }

        private Val NewRuntime(string name, long[] shape, CompiledOutputKind kind = CompiledOutputKind.Tensor, string[]? labels = null)
        {
            var v = new Val(name, shape) { Slot = NewSlot(checked((int)OnnxGraph.ElementCount(shape))), Kind = kind, Labels = labels ?? [] };
            _values[name] = v;
            return v;
        }

        private void Alias(string name, Val source, long[] shape, int offset = 0, CompiledOutputKind? kind = null, string[]? labels = null)
        {
            _values[name] = source.IsConstant
                ? new Val(name, shape) { Floats = source.Floats, Longs = source.Longs }
                : new Val(name, shape) { Slot = source.Slot, Offset = source.Offset + offset, Kind = kind ?? source.Kind, Labels = labels ?? source.Labels };
        }

        // Resolved at kernel-construction time, after every slot has its address.
        private float* Ptr(Val v)
        {
            if (!v.IsConstant)
            {
                return (float*)_slotAddress[v.Slot] + v.Offset;
            }

            if (!_constantAddress.TryGetValue(v, out nint address))
            {
                float[] data = ConstantFloats(v);
                var buffer = new AlignedBuffer<float>(Math.Max(1, data.Length));
                data.CopyTo(buffer.Span);
                _owned.Add(buffer);
                address = buffer.Address;
                _constantAddress[v] = address;
            }

            return (float*)address;
        }

        private static float[] ConstantFloats(Val v) => v.Floats ?? [.. v.Longs!.Select(l => (float)l)];

        private static Val Constant(string name, TensorProto t)
        {
            long[] shape = [.. t.Dims];
            if (t.DataType is OnnxGraph.Int64 or OnnxGraph.Int32)
            {
                return new Val(name, shape) { Longs = OnnxGraph.ToLongs(t) };
            }

            return new Val(name, shape) { Floats = OnnxGraph.ToFloats(t) ?? throw new NotCompilableException($"constant '{name}' is {OnnxGraph.ElementName(t.DataType)}; the compiled path handles float32 and integer constants") };
        }

        private long[] ResolveInput(ValueInfoProto i)
        {
            var type = OnnxGraph.TensorType(i);
            if (type is null || type.Value.ElementType != OnnxGraph.Float)
            {
                throw new NotCompilableException($"input '{i.Name}' is {OnnxGraph.TypeName(i.Type)}; the compiled path takes float32 tensors");
            }

            var dims = type.Value.Dims;
            var shape = new long[dims.Length];
            for (int d = 0; d < dims.Length; d++)
            {
                shape[d] = options.ResolveDimension(d, dims[d].Value ?? 0, dims[d].Symbol);
                if (shape[d] <= 0)
                {
                    throw new NotCompilableException($"input '{i.Name}' has dynamic dimension {d} ('{dims[d].Symbol}'); give its size in ModelOptions.SymbolicDimensions");
                }
            }

            return shape;
        }

        private Val Get(string name, string role) =>
            _values.TryGetValue(name, out Val? v) ? v : throw new NotCompilableException($"{role} '{name}' is not produced by any node the compiled path ran");

        private Val? Optional(NodeProto n, int index) =>
            index < n.Input.Count && !string.IsNullOrEmpty(n.Input[index]) ? Get(n.Input[index], $"{n.OpType} input") : null;

        private static string Where(NodeProto n) => $"operator '{n.OpType}'{(string.IsNullOrEmpty(n.Domain) ? string.Empty : $" ({n.Domain})")} (node '{n.Name}')";

        private void Compile(int index)
        {
            NodeProto n = _nodes[index];
            string domain = n.Domain ?? string.Empty;
            if (domain is not ("" or "ai.onnx" or "ai.onnx.ml"))
            {
                throw new NotCompilableException($"{Where(n)} is in domain '{domain}', which the compiled path does not implement");
            }

            switch (n.OpType)
            {
                case "Constant": CompileConstant(n); break;
                case "Identity": Alias(n.Output[0], Get(n.Input[0], "Identity input"), Get(n.Input[0], "Identity input").Shape); break;
                case "Gemm": CompileGemm(index, n); break;
                case "MatMul": CompileMatMul(index, n); break;
                case "Add": CompileBinary(index, n, BinaryOp.Add); break;
                case "Sub": CompileBinary(index, n, BinaryOp.Sub); break;
                case "Mul": CompileBinary(index, n, BinaryOp.Mul); break;
                case "Div": CompileBinary(index, n, BinaryOp.Div); break;
                case "Relu": CompileUnary(n, Activation.Relu); break;
                case "Tanh": CompileUnary(n, Activation.Tanh); break;
                case "Sigmoid": CompileUnary(n, Activation.Sigmoid); break;
                case "Softmax": CompileSoftmax(n); break;
                case "Split": CompileSplit(n); break;
                case "Reshape": CompileReshape(n); break;
                case "Flatten": CompileFlatten(n); break;
                case "Squeeze": CompileSqueeze(n, squeeze: true); break;
                case "Unsqueeze": CompileSqueeze(n, squeeze: false); break;
                case "Transpose": CompileTranspose(n); break;
                case "Gather": CompileGather(n); break;
                case "Shape": CompileShape(n); break;
                case "ConstantOfShape": CompileConstantOfShape(n); break;
                case "Concat": CompileConcat(n); break;
                case "Cast": CompileCast(n); break;
                case "GRU": CompileRecurrent(n, lstm: false); break;
                case "LSTM": CompileRecurrent(n, lstm: true); break;
                case "TreeEnsembleRegressor": CompileTrees(n, classifier: false); break;
                case "TreeEnsembleClassifier": CompileTrees(n, classifier: true); break;
                case "ZipMap": CompileZipMap(n); break;
                case "Scaler": CompileScaler(n); break;
                case "LinearRegressor": CompileLinearRegressor(n); break;
                case "LinearClassifier": CompileLinearClassifier(n); break;
                case "Normalizer": CompileNormalizer(n); break;
                default:
                    throw new NotCompilableException($"{Where(n)} is not supported by the compiled path (it supports {SupportedOperators})");
            }
        }

        private void CompileConstant(NodeProto n)
        {
            AttributeProto? a = n.Attribute.Count == 1 ? n.Attribute[0] : null;
            Val v = a?.Name switch
            {
                "value" => Constant(n.Output[0], a.T),
                "value_float" => new Val(n.Output[0], []) { Floats = [a.F] },
                "value_floats" => new Val(n.Output[0], [a.Floats.Count]) { Floats = [.. a.Floats] },
                "value_int" => new Val(n.Output[0], []) { Longs = [a.I] },
                "value_ints" => new Val(n.Output[0], [a.Ints.Count]) { Longs = [.. a.Ints] },
                _ => throw new NotCompilableException($"{Where(n)} has attribute '{a?.Name}', which the compiled path does not read"),
            };
            _values[n.Output[0]] = v;
        }

        // Follows a single-consumer chain after a producer: a constant bias Add (into the bias) and an activation.
        private (string Output, float[]? Bias, Activation Activation) Fuse(int index, string output, int width, float[]? bias, bool allowBias)
        {
            Activation act = Activation.None;
            while (!_graphOutputs.Contains(output) && _consumers.GetValueOrDefault(output) == 1)
            {
                int next = NextConsumer(index, output);
                if (next < 0)
                {
                    break;
                }

                NodeProto c = _nodes[next];
                if (allowBias && act == Activation.None && c.OpType == "Add" && c.Input.Count == 2)
                {
                    string other = c.Input[0] == output ? c.Input[1] : c.Input[0];
                    if (_values.TryGetValue(other, out Val? o) && o.IsConstant && o.Floats is not null && (o.Count == width || o.Count == 1) && o.Shape.Length <= 2 && (o.Shape.Length < 2 || o.Shape[0] == 1))
                    {
                        bias ??= new float[width];
                        for (int i = 0; i < width; i++)
                        {
                            bias[i] += o.Floats[o.Count == 1 ? 0 : i];
                        }

                        _fused.Add(next);
                        output = c.Output[0];
                        index = next;
                        continue;
                    }
                }

                Activation a = c.OpType switch { "Relu" => Activation.Relu, "Tanh" => Activation.Tanh, "Sigmoid" => Activation.Sigmoid, _ => Activation.None };
                if (a != Activation.None && act == Activation.None)
                {
                    act = a;
                    _fused.Add(next);
                    output = c.Output[0];
                    index = next;
                    continue;
                }

                break;
            }

            return (output, bias, act);
        }

        private int NextConsumer(int after, string value)
        {
            for (int i = after + 1; i < _nodes.Length; i++)
            {
                if (_nodes[i].Input.Contains(value))
                {
                    return i;
                }
            }

            return -1;
        }

        private void CompileGemm(int index, NodeProto n)
        {
            Val a = Get(n.Input[0], "Gemm input A"), b = Get(n.Input[1], "Gemm input B");
            Val? c = Optional(n, 2);
            float alpha = OnnxGraph.Float32(n, "alpha", 1f), beta = OnnxGraph.Float32(n, "beta", 1f);
            bool transA = OnnxGraph.Int(n, "transA", 0) != 0, transB = OnnxGraph.Int(n, "transB", 0) != 0;
            if (a.Shape.Length != 2 || b.Shape.Length != 2)
            {
                throw new NotCompilableException($"{Where(n)} has operands of rank {a.Shape.Length} and {b.Shape.Length}; Gemm takes matrices");
            }

            int m = (int)(transA ? a.Shape[1] : a.Shape[0]), k = (int)(transA ? a.Shape[0] : a.Shape[1]);
            int nOut = (int)(transB ? b.Shape[0] : b.Shape[1]);
            bool biasLike = c is null || (c.IsConstant && (c.Count == nOut || c.Count == 1) && (c.Shape.Length < 2 || c.Shape[0] == 1));
            if (!a.IsConstant && !transA && b.IsConstant && biasLike)
            {
                float[] bw = ConstantFloats(b);
                var w = new float[nOut * k];
                for (int o = 0; o < nOut; o++)
                {
                    for (int i = 0; i < k; i++)
                    {
                        w[(o * k) + i] = alpha * (transB ? bw[(o * k) + i] : bw[(i * nOut) + o]);
                    }
                }

                float[]? bias = null;
                if (c is not null)
                {
                    float[] cw = ConstantFloats(c);
                    bias = new float[nOut];
                    for (int o = 0; o < nOut; o++)
                    {
                        bias[o] = beta * cw[cw.Length == 1 ? 0 : o];
                    }
                }

                Dense(index, n, a, w, bias, m, k, nOut, [m, nOut]);
                return;
            }

            Val y = NewRuntime(n.Output[0], [m, nOut]);
            int[]? cIndex = c is null ? null : BroadcastIndex(c.Shape, [m, nOut]) ?? Identity(m * nOut);
            _plan.Add(() => new GemmKernel(Ptr(a), Ptr(b), c is null ? null : Ptr(c), cIndex, Ptr(y), m, nOut, k, transA, transB, alpha, beta));
        }

        private void Dense(int index, NodeProto n, Val x, float[] w, float[]? bias, int rows, int k, int nOut, long[] shape)
        {
            (string output, float[]? fusedBias, Activation act) = Fuse(index, n.Output[0], nOut, bias, allowBias: true);
            var weights = new DenseWeights(w, fusedBias, nOut, k);
            _weightBytes += weights.Bytes;
            Val y = NewRuntime(output, shape);
            string origin = $"{n.OpType} '{n.Name}'";
            _plan.Add(() => new DenseKernel(weights, Ptr(x), Ptr(y), rows, act, origin));
        }

        private void CompileMatMul(int index, NodeProto n)
        {
            Val a = Get(n.Input[0], "MatMul input A"), b = Get(n.Input[1], "MatMul input B");
            if (a.Shape.Length < 1 || b.Shape.Length != 2)
            {
                throw new NotCompilableException($"{Where(n)} multiplies rank {a.Shape.Length} by rank {b.Shape.Length}; the compiled path takes [..., K] × [K, N]");
            }

            int k = (int)b.Shape[0], nOut = (int)b.Shape[1];
            int rows = (int)(OnnxGraph.ElementCount(a.Shape) / k);
            long[] shape = [.. a.Shape[..^1], nOut];
            if (!a.IsConstant && b.IsConstant)
            {
                float[] bw = ConstantFloats(b);
                var w = new float[nOut * k];
                for (int o = 0; o < nOut; o++)
                {
                    for (int i = 0; i < k; i++)
                    {
                        w[(o * k) + i] = bw[(i * nOut) + o];
                    }
                }

                Dense(index, n, a, w, null, rows, k, nOut, shape);
                return;
            }

            if (a.Shape.Length != 2)
            {
                throw new NotCompilableException($"{Where(n)} multiplies two runtime tensors of rank {a.Shape.Length}; the compiled path takes matrices then");
            }

            Val y = NewRuntime(n.Output[0], shape);
            _plan.Add(() => new GemmKernel(Ptr(a), Ptr(b), null, null, Ptr(y), rows, nOut, k, false, false, 1f, 0f));
        }

        private void CompileBinary(int index, NodeProto n, BinaryOp op)
        {
            Val a = Get(n.Input[0], $"{n.OpType} input"), b = Get(n.Input[1], $"{n.OpType} input");
            long[] shape = BroadcastShape(n, a.Shape, b.Shape);
            int[]? ai = BroadcastIndex(a.Shape, shape), bi = BroadcastIndex(b.Shape, shape);
            int count = (int)OnnxGraph.ElementCount(shape);
            if (a.IsConstant && b.IsConstant)
            {
                float[] af = ConstantFloats(a), bf = ConstantFloats(b);
                var r = new float[count];
                for (int i = 0; i < count; i++)
                {
                    float x = af[ai is null ? i : ai[i]], y = bf[bi is null ? i : bi[i]];
                    r[i] = op switch { BinaryOp.Add => x + y, BinaryOp.Sub => x - y, BinaryOp.Mul => x * y, _ => x / y };
                }

                _values[n.Output[0]] = a.Longs is not null && b.Longs is not null
                    ? new Val(n.Output[0], shape) { Longs = [.. r.Select(f => (long)f)] }
                    : new Val(n.Output[0], shape) { Floats = r };
                return;
            }

            (string output, _, Activation act) = Fuse(index, n.Output[0], 0, null, allowBias: false);
            Val y2 = NewRuntime(output, shape);
            _plan.Add(() => new BinaryKernel(op, Ptr(a), Ptr(b), Ptr(y2), count, ai, bi, act));
        }

        private void CompileUnary(NodeProto n, Activation act)
        {
            Val x = Get(n.Input[0], $"{n.OpType} input");
            if (x.IsConstant)
            {
                _values[n.Output[0]] = new Val(n.Output[0], x.Shape) { Floats = [.. ConstantFloats(x).Select(v => Simd.Apply(v, act))] };
                return;
            }

            Val y = NewRuntime(n.Output[0], x.Shape);
            _plan.Add(() => new UnaryKernel(act, Ptr(x), Ptr(y), x.Count));
        }

        private void CompileSoftmax(NodeProto n)
        {
            Val x = Runtime(n, 0);
            int rank = x.Shape.Length;
            long axis = OnnxGraph.Int(n, "axis", _opset >= 13 ? -1 : 1);
            axis = axis < 0 ? axis + rank : axis;
            int width;
            if (_opset >= 13)
            {
                if (axis != rank - 1)
                {
                    throw new NotCompilableException($"{Where(n)} is over axis {axis} of a rank-{rank} tensor; the compiled path does softmax over the last axis");
                }

                width = (int)x.Shape[^1];
            }
            else
            {
                width = (int)OnnxGraph.ElementCount(x.Shape[(int)axis..]);
            }

            Val y = NewRuntime(n.Output[0], x.Shape);
            int rows = x.Count / width;
            _plan.Add(() => new SoftmaxKernel(Ptr(x), Ptr(y), rows, width));
        }

        private Val Runtime(NodeProto n, int input)
        {
            Val v = Get(n.Input[input], $"{n.OpType} input");
            if (v.IsConstant)
            {
                throw new NotCompilableException($"{Where(n)} on a constant input is not folded by the compiled path");
            }

            return v;
        }

        private void CompileSplit(NodeProto n)
        {
            Val x = Runtime(n, 0);
            int rank = x.Shape.Length;
            long axis = OnnxGraph.Int(n, "axis", 0);
            axis = axis < 0 ? axis + rank : axis;
            long[] sizes = Optional(n, 1) is { } s ? s.Longs ?? throw new NotCompilableException($"{Where(n)} has non-integer split sizes") : OnnxGraph.Ints(n, "split");
            if (sizes.Length == 0)
            {
                sizes = [.. Enumerable.Repeat(x.Shape[axis] / n.Output.Count, n.Output.Count)];
            }

            int outer = (int)OnnxGraph.ElementCount(x.Shape[..(int)axis]);
            int inner = (int)OnnxGraph.ElementCount(x.Shape[((int)axis + 1)..]);
            long start = 0;
            for (int o = 0; o < n.Output.Count; o++)
            {
                long[] shape = [.. x.Shape];
                shape[axis] = sizes[o];
                long from = start;
                start += sizes[o];
                if (string.IsNullOrEmpty(n.Output[o]))
                {
                    continue;
                }

                if (outer == 1)
                {
                    Alias(n.Output[o], x, shape, (int)(from * inner)); // contiguous: a view, no copy
                    continue;
                }

                int[] table = new int[OnnxGraph.ElementCount(shape)];
                int along = (int)x.Shape[axis], width = (int)sizes[o] * inner;
                for (int i = 0; i < table.Length; i++)
                {
                    int r = i / width, c = i % width;
                    table[i] = (r * along * inner) + ((int)from * inner) + c;
                }

                Val y = NewRuntime(n.Output[o], shape);
                _plan.Add(() => new CopyKernel(Ptr(x), Ptr(y), table.Length, table, "split"));
            }
        }

        private void CompileReshape(NodeProto n)
        {
            Val x = Get(n.Input[0], "Reshape input");
            long[] target = Get(n.Input[1], "Reshape shape").Longs ?? throw new NotCompilableException($"{Where(n)} has a non-integer shape");
            var shape = new long[target.Length];
            long known = 1;
            int infer = -1;
            for (int i = 0; i < target.Length; i++)
            {
                shape[i] = target[i] == 0 ? x.Shape[i] : target[i];
                if (shape[i] == -1)
                {
                    infer = i;
                }
                else
                {
                    known *= shape[i];
                }
            }

            if (infer >= 0)
            {
                shape[infer] = x.Count / known;
            }

            Alias(n.Output[0], x, shape);
        }

        private void CompileFlatten(NodeProto n)
        {
            Val x = Get(n.Input[0], "Flatten input");
            long axis = OnnxGraph.Int(n, "axis", 1);
            axis = axis < 0 ? axis + x.Shape.Length : axis;
            Alias(n.Output[0], x, [OnnxGraph.ElementCount(x.Shape[..(int)axis]), OnnxGraph.ElementCount(x.Shape[(int)axis..])]);
        }

        private void CompileSqueeze(NodeProto n, bool squeeze)
        {
            Val x = Get(n.Input[0], $"{n.OpType} input");
            long[] axes = Optional(n, 1) is { } a ? a.Longs ?? [] : OnnxGraph.Ints(n, "axes");
            var shape = new List<long>(x.Shape);
            if (squeeze)
            {
                int rank = x.Shape.Length;
                HashSet<long> drop = axes.Length == 0 ? [.. Enumerable.Range(0, rank).Where(i => x.Shape[i] == 1).Select(i => (long)i)] : [.. axes.Select(v => v < 0 ? v + rank : v)];
                shape = [.. x.Shape.Where((_, i) => !drop.Contains(i))];
            }
            else
            {
                int rank = x.Shape.Length + axes.Length;
                foreach (long ax in axes.Select(v => v < 0 ? v + rank : v).Order())
                {
                    shape.Insert((int)ax, 1);
                }
            }

            Alias(n.Output[0], x, [.. shape]);
        }

        private void CompileTranspose(NodeProto n)
        {
            Val x = Get(n.Input[0], "Transpose input");
            int rank = x.Shape.Length;
            long[] perm = OnnxGraph.Ints(n, "perm");
            if (perm.Length == 0)
            {
                perm = [.. Enumerable.Range(0, rank).Reverse().Select(i => (long)i)];
            }

            long[] shape = [.. perm.Select(p => x.Shape[p])];
            long[] nonUnit = [.. perm.Where(p => x.Shape[p] != 1)];
            if (nonUnit.SequenceEqual(nonUnit.Order()))
            {
                Alias(n.Output[0], x, shape); // only unit dimensions move: same memory order
                return;
            }

            int[] table = TransposeIndex(x.Shape, perm);
            if (x.IsConstant)
            {
                float[] f = ConstantFloats(x);
                _values[n.Output[0]] = new Val(n.Output[0], shape) { Floats = [.. table.Select(i => f[i])] };
                return;
            }

            Val y = NewRuntime(n.Output[0], shape);
            _plan.Add(() => new CopyKernel(Ptr(x), Ptr(y), table.Length, table, "transpose"));
        }

        private static int[] TransposeIndex(long[] inShape, long[] perm)
        {
            long[] inStrides = Strides(inShape);
            return StridedTable([.. perm.Select(p => inShape[p])], [.. perm.Select(p => inStrides[p])]);
        }

        private static long[] Strides(long[] shape)
        {
            var strides = new long[shape.Length];
            long s = 1;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                strides[d] = s;
                s *= shape[d];
            }

            return strides;
        }

        /// <summary>For each element of <paramref name="outShape"/> in row-major order, the source offset Σ index[d]·strides[d].</summary>
        private static int[] StridedTable(long[] outShape, long[] strides)
        {
            int rank = outShape.Length;
            var table = new int[OnnxGraph.ElementCount(outShape)];
            var idx = new long[rank];
            for (int i = 0; i < table.Length; i++)
            {
                long src = 0;
                for (int d = 0; d < rank; d++)
                {
                    src += idx[d] * strides[d];
                }

                table[i] = (int)src;
                for (int d = rank - 1; d >= 0; d--)
                {
                    if (++idx[d] < outShape[d])
                    {
                        break;
                    }

                    idx[d] = 0;
                }
            }

            return table;
        }

        private void CompileGather(NodeProto n)
        {
            Val data = Get(n.Input[0], "Gather data"), indices = Get(n.Input[1], "Gather indices");
            if (!indices.IsConstant || indices.Longs is null)
            {
                throw new NotCompilableException($"{Where(n)} has runtime or non-integer indices; the compiled path gathers at constant indices");
            }

            int rank = data.Shape.Length;
            long axis = OnnxGraph.Int(n, "axis", 0);
            axis = axis < 0 ? axis + rank : axis;
            long along = data.Shape[axis];
            long[] idx = [.. indices.Longs.Select(i => i < 0 ? i + along : i)];
            long[] shape = [.. data.Shape[..(int)axis], .. indices.Shape, .. data.Shape[((int)axis + 1)..]];
            int outer = (int)OnnxGraph.ElementCount(data.Shape[..(int)axis]);
            int inner = (int)OnnxGraph.ElementCount(data.Shape[((int)axis + 1)..]);
            var table = new int[outer * idx.Length * inner];
            for (int o = 0, t = 0; o < outer; o++)
            {
                foreach (long i in idx)
                {
                    for (int c = 0; c < inner; c++)
                    {
                        table[t++] = (int)((((o * along) + i) * inner) + c);
                    }
                }
            }

            if (data.IsConstant)
            {
                _values[n.Output[0]] = data.Longs is not null
                    ? new Val(n.Output[0], shape) { Longs = [.. table.Select(i => data.Longs[i])] }
                    : new Val(n.Output[0], shape) { Floats = [.. table.Select(i => data.Floats![i])] };
                return;
            }

            if (outer == 1 && idx.Length == 1)
            {
                Alias(n.Output[0], data, shape, (int)(idx[0] * inner)); // one contiguous block: a view
                return;
            }

            Val y = NewRuntime(n.Output[0], shape);
            _plan.Add(() => new CopyKernel(Ptr(data), Ptr(y), table.Length, table, "gather"));
        }

        private void CompileShape(NodeProto n)
        {
            Val x = Get(n.Input[0], "Shape input");
            _values[n.Output[0]] = new Val(n.Output[0], [x.Shape.Length]) { Longs = [.. x.Shape] };
        }

        private void CompileConstantOfShape(NodeProto n)
        {
            long[] shape = Get(n.Input[0], "ConstantOfShape shape").Longs ?? throw new NotCompilableException($"{Where(n)} has a runtime shape");
            AttributeProto? value = OnnxGraph.Attribute(n, "value");
            Val one = value is null ? new Val("value", [1]) { Floats = [0f] } : Constant("value", value.T);
            long count = OnnxGraph.ElementCount(shape);
            _values[n.Output[0]] = one.Longs is not null
                ? new Val(n.Output[0], shape) { Longs = [.. Enumerable.Repeat(one.Longs[0], (int)count)] }
                : new Val(n.Output[0], shape) { Floats = [.. Enumerable.Repeat(one.Floats![0], (int)count)] };
        }

        private void CompileConcat(NodeProto n)
        {
            Val[] parts = [.. n.Input.Select(i => Get(i, "Concat input"))];
            if (parts.Any(p => !p.IsConstant) || parts.Any(p => p.Shape.Length != 1))
            {
                throw new NotCompilableException($"{Where(n)} joins runtime tensors; the compiled path folds Concat of constant vectors only");
            }

            if (parts.All(p => p.Longs is not null))
            {
                long[] all = [.. parts.SelectMany(p => p.Longs!)];
                _values[n.Output[0]] = new Val(n.Output[0], [all.Length]) { Longs = all };
            }
            else
            {
                float[] all = [.. parts.SelectMany(ConstantFloats)];
                _values[n.Output[0]] = new Val(n.Output[0], [all.Length]) { Floats = all };
            }
        }

        private void CompileCast(NodeProto n)
        {
            Val x = Get(n.Input[0], "Cast input");
            long to = OnnxGraph.Int(n, "to", OnnxGraph.Float);
            if (x.IsConstant)
            {
                _values[n.Output[0]] = to is OnnxGraph.Int64 or OnnxGraph.Int32
                    ? new Val(n.Output[0], x.Shape) { Longs = x.Longs ?? [.. x.Floats!.Select(f => (long)f)] }
                    : new Val(n.Output[0], x.Shape) { Floats = ConstantFloats(x) };
                return;
            }

            bool sameType = (to == OnnxGraph.Float && x.Kind == CompiledOutputKind.Tensor) || (to == OnnxGraph.Int64 && x.Kind == CompiledOutputKind.Int64Label);
            if (!sameType)
            {
                throw new NotCompilableException($"{Where(n)} converts a {x.Kind} value to {OnnxGraph.ElementName((int)to)}; the compiled path only passes through casts to the same type");
            }

            Alias(n.Output[0], x, x.Shape);
        }

        private void CompileRecurrent(NodeProto n, bool lstm)
        {
            string op = lstm ? "LSTM" : "GRU";
            Val x = Runtime(n, 0);
            Val w = Get(n.Input[1], $"{op} W"), r = Get(n.Input[2], $"{op} R");
            Val? bias = Optional(n, 3), seqLens = Optional(n, 4), initialH = Optional(n, 5);
            Val? initialC = lstm ? Optional(n, 6) : null;
            Val? peephole = lstm ? Optional(n, 7) : null;
            string direction = OnnxGraph.Text(n, "direction", "forward");
            string[] activations = OnnxGraph.Strings(n, "activations");
            string[] defaults = lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"];
            if (!w.IsConstant || !r.IsConstant || bias is { IsConstant: false })
            {
                throw new NotCompilableException($"{Where(n)} has runtime weights; the compiled path packs constant weights");
            }

            if (seqLens is not null || peephole is not null || direction != "forward" || OnnxGraph.Int(n, "layout", 0) != 0
                || OnnxGraph.Attribute(n, "clip") is not null || OnnxGraph.Int(n, "input_forget", 0) != 0
                || (activations.Length > 0 && !activations.SequenceEqual(defaults, StringComparer.OrdinalIgnoreCase)))
            {
                throw new NotCompilableException($"{Where(n)} uses sequence_lens, peepholes, direction '{direction}', layout 1, clip, input_forget or non-default activations, which the compiled path does not implement");
            }

            int steps = (int)x.Shape[0], batch = (int)x.Shape[1], inputs = (int)x.Shape[2];
            int hidden = (int)OnnxGraph.Int(n, "hidden_size", r.Shape[^1]);
            bool lbr = OnnxGraph.Int(n, "linear_before_reset", 0) != 0;
            float[] wf = ConstantFloats(w), rf = ConstantFloats(r);
            float[]? bf = bias is null ? null : ConstantFloats(bias);
            Val? h0 = initialH is { IsConstant: true } && ConstantFloats(initialH).All(v => v == 0) ? null : initialH;
            Val? c0 = initialC is { IsConstant: true } && ConstantFloats(initialC).All(v => v == 0) ? null : initialC;
            Val? y = n.Output.Count > 0 && !string.IsNullOrEmpty(n.Output[0]) ? NewRuntime(n.Output[0], [steps, 1, batch, hidden]) : null;
            Val? yH = n.Output.Count > 1 && !string.IsNullOrEmpty(n.Output[1]) ? NewRuntime(n.Output[1], [1, batch, hidden]) : null;
            Val? yC = lstm && n.Output.Count > 2 && !string.IsNullOrEmpty(n.Output[2]) ? NewRuntime(n.Output[2], [1, batch, hidden]) : null;
            _weightBytes += (wf.Length + rf.Length + (bf?.Length ?? 0)) * sizeof(float);
            _plan.Add(() => new RecurrentKernel(
                lstm, wf, rf, bf, lbr, steps, batch, inputs, hidden, Ptr(x),
                h0 is null ? null : Ptr(h0), c0 is null ? null : Ptr(c0),
                y is null ? null : Ptr(y), yH is null ? null : Ptr(yH), yC is null ? null : Ptr(yC)));
        }

        private void CompileScaler(NodeProto n)
        {
            Val x = Runtime(n, 0);
            int width = (int)x.Shape[^1];
            float[] offset = OnnxGraph.Floats(n, "offset"), scale = OnnxGraph.Floats(n, "scale");
            if (offset.Length is not (1 or 0) && offset.Length != width || scale.Length is not (1 or 0) && scale.Length != width)
            {
                throw new NotCompilableException($"{Where(n)} has {offset.Length} offsets and {scale.Length} scales for {width} features");
            }

            offset = offset.Length == 0 ? [0f] : offset;
            scale = scale.Length == 0 ? [1f] : scale;
            Val y = NewRuntime(n.Output[0], x.Shape);
            if (x.Offset == 0 && _inputSlots.TryGetValue(x.Slot, out string? source))
            {
                _scaled[y.Slot] = (source, offset, scale);
            }

            int rows = x.Count / width;
            _plan.Add(() => new ScalerKernel(offset, scale, Ptr(x), Ptr(y), rows, width));
        }

        private void CompileLinearRegressor(NodeProto n)
        {
            Val x = Runtime(n, 0);
            int k = (int)x.Shape[^1], rows = x.Count / k;
            int targets = (int)OnnxGraph.Int(n, "targets", 1);
            float[] coefficients = OnnxGraph.Floats(n, "coefficients"), intercepts = OnnxGraph.Floats(n, "intercepts");
            string transform = OnnxGraph.Text(n, "post_transform", "NONE");
            if (transform != "NONE" || coefficients.Length != targets * k || intercepts.Length is not 0 && intercepts.Length != targets)
            {
                throw new NotCompilableException($"{Where(n)} has post_transform {transform} or {coefficients.Length} coefficients for {targets} targets × {k} features");
            }

            var weights = new DenseWeights(coefficients, intercepts.Length == 0 ? null : intercepts, targets, k);
            _weightBytes += weights.Bytes;
            Val y = NewRuntime(n.Output[0], [rows, targets]);
            string origin = $"LinearRegressor '{n.Name}'";
            _plan.Add(() => new DenseKernel(weights, Ptr(x), Ptr(y), rows, Activation.None, origin));
        }

        private void CompileLinearClassifier(NodeProto n)
        {
            Val x = Runtime(n, 0);
            int k = (int)x.Shape[^1], rows = x.Count / k;
            float[] coefficients = OnnxGraph.Floats(n, "coefficients"), intercepts = OnnxGraph.Floats(n, "intercepts");
            long[] intLabels = OnnxGraph.Ints(n, "classlabels_ints");
            string[] stringLabels = OnnxGraph.Strings(n, "classlabels_strings");
            int labelCount = Math.Max(intLabels.Length, stringLabels.Length);

            // ORT sizes the classes by the intercepts; a model without them is not one ORT's kernel scores sensibly.
            int classes = intercepts.Length;
            if (classes == 0 || coefficients.Length != classes * k)
            {
                throw new NotCompilableException($"{Where(n)} has {coefficients.Length} coefficients and {intercepts.Length} intercepts for {k} features");
            }

            if (labelCount != (classes == 1 ? 2 : classes))
            {
                throw new NotCompilableException($"{Where(n)} has {labelCount} class labels for {classes} score(s); the compiled path needs one label per class (two for a single score)");
            }

            PostTransform transform = PostTransformOf(n, probit: false);

            (float[] labelValues, CompiledOutputKind labelKind, string[] labelText) = ClassLabels(n, intLabels, stringLabels);
            var weights = new DenseWeights(coefficients, intercepts, classes, k);
            _weightBytes += weights.Bytes;
            Val label = NewRuntime(n.Output[0], [rows], labelKind, labelText);
            Val scores = NewRuntime(n.Output[1], [rows, classes == 1 ? 2 : classes]);
            string origin = $"LinearClassifier '{n.Name}'";
            _plan.Add(() => new LinearClassifierKernel(weights, labelValues, transform, Ptr(x), Ptr(scores), Ptr(label), rows, origin));
        }

        private void CompileNormalizer(NodeProto n)
        {
            Val x = Runtime(n, 0);
            if (x.Shape.Length > 2)
            {
                throw new NotCompilableException($"{Where(n)} has a rank-{x.Shape.Length} input; Normalizer takes rank 1 or 2");
            }

            NormKind norm = OnnxGraph.Text(n, "norm", "MAX") switch
            {
                "MAX" => NormKind.Max,
                "L1" => NormKind.L1,
                "L2" => NormKind.L2,
                string other => throw new NotCompilableException($"{Where(n)} has norm '{other}'"),
            };
            int width = (int)x.Shape[^1];
            Val y = NewRuntime(n.Output[0], x.Shape);
            _plan.Add(() => new NormalizerKernel(norm, Ptr(x), Ptr(y), x.Count / width, width));
        }

        private void CompileZipMap(NodeProto n)
        {
            Val x = Runtime(n, 0);
            string[] labels = LabelText(OnnxGraph.Ints(n, "classlabels_int64s"), OnnxGraph.Strings(n, "classlabels_strings"));
            Alias(n.Output[0], x, x.Shape, 0, CompiledOutputKind.ZipMap, labels);
        }

        private void CompileTrees(NodeProto n, bool classifier)
        {
            foreach (string doubles in new[] { "nodes_values_as_tensor", "base_values_as_tensor", "target_weights_as_tensor", "class_weights_as_tensor", "nodes_hitrates_as_tensor" })
            {
                if (OnnxGraph.Attribute(n, doubles) is not null)
                {
                    throw new NotCompilableException($"{Where(n)} stores '{doubles}' in float64; the compiled path reads float32 trees");
                }
            }

            Val x = Runtime(n, 0);
            int features = (int)x.Shape[^1];
            int rows = x.Shape.Length == 1 ? 1 : (int)(x.Count / features);
            long[] treeIds = OnnxGraph.Ints(n, "nodes_treeids"), nodeIds = OnnxGraph.Ints(n, "nodes_nodeids");
            long[] featureIds = OnnxGraph.Ints(n, "nodes_featureids"), trueIds = OnnxGraph.Ints(n, "nodes_truenodeids"), falseIds = OnnxGraph.Ints(n, "nodes_falsenodeids");
            long[] missing = OnnxGraph.Ints(n, "nodes_missing_value_tracks_true");
            float[] thresholds = OnnxGraph.Floats(n, "nodes_values");
            string[] modes = OnnxGraph.Strings(n, "nodes_modes");
            string prefix = classifier ? "class" : "target";
            long[] wTree = OnnxGraph.Ints(n, prefix + "_treeids"), wNode = OnnxGraph.Ints(n, prefix + "_nodeids"), wId = OnnxGraph.Ints(n, prefix + "_ids");
            float[] wValue = OnnxGraph.Floats(n, prefix + "_weights");
            int count = treeIds.Length;
            if (new[] { nodeIds.Length, featureIds.Length, trueIds.Length, falseIds.Length, thresholds.Length, modes.Length }.Any(l => l != count)
                || new[] { wNode.Length, wId.Length, wValue.Length }.Any(l => l != wTree.Length))
            {
                throw new NotCompilableException($"{Where(n)} has node or weight attributes of different lengths");
            }

            var at = new Dictionary<(long Tree, long Node), int>();
            for (int i = 0; i < count; i++)
            {
                if (!at.TryAdd((treeIds[i], nodeIds[i]), i))
                {
                    throw new NotCompilableException($"{Where(n)} lists node {nodeIds[i]} of tree {treeIds[i]} twice");
                }
            }

            var leafWeights = new List<(int Target, float Value)>[count];
            for (int i = 0; i < wTree.Length; i++)
            {
                if (!at.TryGetValue((wTree[i], wNode[i]), out int leaf))
                {
                    throw new NotCompilableException($"{Where(n)} has a weight for missing node {wNode[i]} of tree {wTree[i]}");
                }

                (leafWeights[leaf] ??= []).Add(((int)wId[i], wValue[i]));
            }

            var nodes = new TreeNode[count];
            var leafStart = new int[count];
            var leafCount = new int[count];
            var targetsOut = new List<int>();
            var valuesOut = new List<float>();
            var parsedModes = new BranchMode[count];
            bool anyMissing = false;
            BranchMode? first = null;
            bool uniform = true;
            for (int i = 0; i < count; i++)
            {
                if (modes[i] == "LEAF")
                {
                    List<(int Target, float Value)> ws = leafWeights[i] ?? [];
                    nodes[i] = new TreeNode { Feature = 0, True = i, False = i }; // a leaf steps to itself
                    leafStart[i] = valuesOut.Count;
                    leafCount[i] = ws.Count;
                    foreach ((int target, float value) in ws)
                    {
                        targetsOut.Add(target);
                        valuesOut.Add(value);
                    }

                    continue;
                }

                parsedModes[i] = modes[i] switch
                {
                    "BRANCH_LEQ" => BranchMode.Leq,
                    "BRANCH_LT" => BranchMode.Lt,
                    "BRANCH_GTE" => BranchMode.Gte,
                    "BRANCH_GT" => BranchMode.Gt,
                    "BRANCH_EQ" => BranchMode.Eq,
                    "BRANCH_NEQ" => BranchMode.Neq,
                    _ => throw new NotCompilableException($"{Where(n)} has node mode '{modes[i]}', which the compiled path does not implement"),
                };
                first ??= parsedModes[i];
                uniform &= parsedModes[i] == first;
                anyMissing |= i < missing.Length && missing[i] == 1;
                if (featureIds[i] < 0 || featureIds[i] >= features)
                {
                    throw new NotCompilableException($"{Where(n)} tests feature {featureIds[i]} of a {features}-feature input");
                }

                if (!at.TryGetValue((treeIds[i], trueIds[i]), out int t) || !at.TryGetValue((treeIds[i], falseIds[i]), out int f))
                {
                    throw new NotCompilableException($"{Where(n)} node {nodeIds[i]} of tree {treeIds[i]} points at a missing child");
                }

                nodes[i] = new TreeNode { Feature = (int)featureIds[i], Threshold = thresholds[i], True = t, False = f };
            }

            RecordProbes(x, features, nodes, featureIds, modes);
            for (int i = 0; i < count; i++)
            {
                if (modes[i] != "LEAF")
                {
                    // Flags and modes ride in the feature word only where the walk decodes them.
                    nodes[i].Feature |= (uniform ? 0 : (int)parsedModes[i] << 24) | (anyMissing && i < missing.Length && missing[i] == 1 ? TreeNode.MissingTrueFlag : 0);
                }
            }

            var roots = new List<int>();
            for (int i = 0; i < count; i++)
            {
                if (i == 0 || treeIds[i] != treeIds[i - 1])
                {
                    roots.Add(i);
                }
            }

            int Depth(int i, int level)
            {
                if (level > count)
                {
                    throw new NotCompilableException($"{Where(n)} has a cycle in tree {treeIds[i]}");
                }

                return modes[i] == "LEAF" ? 0 : 1 + Math.Max(Depth(nodes[i].True, level + 1), Depth(nodes[i].False, level + 1));
            }

            TreeAggregate aggregate = OnnxGraph.Text(n, "aggregate_function", "SUM") switch
            {
                "SUM" => TreeAggregate.Sum,
                "AVERAGE" => TreeAggregate.Average,
                "MIN" => TreeAggregate.Min,
                "MAX" => TreeAggregate.Max,
                string other => throw new NotCompilableException($"{Where(n)} has aggregate_function {other}, which the compiled path does not implement"),
            };
            PostTransform transform = PostTransformOf(n, probit: true);
            float[] bases = OnnxGraph.Floats(n, "base_values");
            long[] intLabels = OnnxGraph.Ints(n, "classlabels_int64s");
            string[] stringLabels = OnnxGraph.Strings(n, "classlabels_strings");
            int targets = classifier ? Math.Max(intLabels.Length, stringLabels.Length) : (int)OnnxGraph.Int(n, "n_targets", 1);
            if (classifier && targets < 2)
            {
                throw new NotCompilableException($"{Where(n)} has {targets} class label(s); the compiled path needs two or more");
            }

            if (wId.Any(id => id < 0 || id >= targets))
            {
                throw new NotCompilableException($"{Where(n)} has leaf weights for a {prefix} outside [0, {targets})");
            }

            (float[] classLabels, CompiledOutputKind labelKind, string[] labelText) = ClassLabels(n, intLabels, stringLabels);
            var spec = new TreeEnsembleSpec(
                nodes, leafStart, leafCount, [.. roots], [.. roots.Select(r => Depth(r, 0))], [.. targetsOut], [.. valuesOut], targets, aggregate, transform, bases, uniform, anyMissing, first ?? BranchMode.Leq,
                classifier, classLabels, classifier && targets == 2 && wId.Distinct().Count() == 1, wValue.All(v => v >= 0));
            _weightBytes += (count * Unsafe.SizeOf<TreeNode>()) + (valuesOut.Count * 8L);

            if (classifier)
            {
                Val label = NewRuntime(n.Output[0], [rows], labelKind, labelText);
                Val probabilities = NewRuntime(n.Output[1], [rows, targets]);
                _plan.Add(() => new TreeEnsembleKernel(spec, Ptr(x), rows, features, Ptr(probabilities), Ptr(label)));
            }
            else
            {
                Val y = NewRuntime(n.Output[0], [rows, targets]);
                _plan.Add(() => new TreeEnsembleKernel(spec, Ptr(x), rows, features, Ptr(y), null));
            }
        }

        // ai.onnx.ml post_transform; a value outside the spec is refused (as ONNX Runtime refuses it), not run as NONE.
        private static PostTransform PostTransformOf(NodeProto n, bool probit) => OnnxGraph.Text(n, "post_transform", "NONE") switch
        {
            "NONE" => PostTransform.None,
            "LOGISTIC" => PostTransform.Logistic,
            "SOFTMAX" => PostTransform.Softmax,
            "SOFTMAX_ZERO" => PostTransform.SoftmaxZero,
            "PROBIT" when probit => PostTransform.Probit,
            string other => throw new NotCompilableException($"{Where(n)} has post_transform {other}, which the compiled path does not implement for {n.OpType}"),
        };

        // A classifier's labels as the compiled path writes them into its float32 label output (int64 labels as
        // their value, string labels as their index), the output's kind, and the labels as text.
        private static (float[] Values, CompiledOutputKind Kind, string[] Text) ClassLabels(NodeProto n, long[] ints, string[] strings)
        {
            if (ints.Length == 0)
            {
                return ([.. Enumerable.Range(0, strings.Length).Select(i => (float)i)], CompiledOutputKind.StringLabel, strings);
            }

            // A label float32 cannot hold exactly would come out as a different class.
            if (ints.FirstOrDefault(l => (long)(float)l != l) is long inexact && inexact != 0)
            {
                throw new NotCompilableException($"{Where(n)} has class label {inexact}, which a float32 label output cannot hold exactly (|label| > 2^24)");
            }

            return ([.. ints.Select(l => (float)l)], CompiledOutputKind.Int64Label, LabelText(ints, strings));
        }

        // Class labels as text: the int64 labels when there are any, else the string labels.
        private static string[] LabelText(long[] ints, string[] strings) =>
            ints.Length > 0 ? [.. ints.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture))] : strings;

        // Thresholds per feature, mapped back through a Scaler to the graph input's units when one sits between.
        private void RecordProbes(Val x, int features, TreeNode[] nodes, long[] featureIds, string[] modes)
        {
            string? input = null;
            Func<int, float, float> toInput = (_, t) => t;
            if (x.Offset == 0 && _inputSlots.TryGetValue(x.Slot, out string? direct))
            {
                input = direct;
            }
            else if (x.Offset == 0 && _scaled.TryGetValue(x.Slot, out var s))
            {
                input = s.Input;
                toInput = (f, t) => (t / (s.Scale.Length == 1 ? s.Scale[0] : s.Scale[f])) + (s.Offset.Length == 1 ? s.Offset[0] : s.Offset[f]);
            }

            if (input is null)
            {
                return;
            }

            var perFeature = new List<float>[features];
            for (int i = 0; i < nodes.Length; i++)
            {
                if (modes[i] != "LEAF")
                {
                    int f = (int)featureIds[i];
                    (perFeature[f] ??= []).Add(toInput(f, nodes[i].Threshold));
                }
            }

            _probes[input] = [.. perFeature.Select(l => l?.ToArray() ?? [])];
        }

        private static long[] BroadcastShape(NodeProto n, long[] a, long[] b)
        {
            int rank = Math.Max(a.Length, b.Length);
            var shape = new long[rank];
            for (int i = 0; i < rank; i++)
            {
                long da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
                long db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
                if (da != db && da != 1 && db != 1)
                {
                    throw new NotCompilableException($"{Where(n)} cannot broadcast [{string.Join(", ", a)}] with [{string.Join(", ", b)}]");
                }

                shape[i] = Math.Max(da, db);
            }

            return shape;
        }

        /// <summary>For each element of <paramref name="outShape"/>, the element of <paramref name="inShape"/> it reads (numpy broadcasting); null when the shapes hold the same elements in the same order.</summary>
        private static int[]? BroadcastIndex(long[] inShape, long[] outShape)
        {
            if (OnnxGraph.ElementCount(inShape) == OnnxGraph.ElementCount(outShape))
            {
                return null;
            }

            // Right-aligned; a dimension of 1 repeats (stride 0).
            long[] inStrides = Strides(inShape);
            var strides = new long[outShape.Length];
            for (int d = 0; d < inShape.Length; d++)
            {
                strides[d + (outShape.Length - inShape.Length)] = inShape[d] == 1 ? 0 : inStrides[d];
            }

            return StridedTable(outShape, strides);
        }

        private static int[] Identity(int count) => [.. Enumerable.Range(0, count)];
    }
}
