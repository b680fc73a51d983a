using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace MultiTaskKit.Export;

/// <summary>
/// Builds one ONNX graph (<c>onnx.proto</c>'s <c>GraphProto</c>, through OnnxSharp's generated classes on Google.Protobuf):
/// named inputs and outputs, float and int64 initializers, and nodes whose output names are made unique here. Operators
/// are those of the default domain at <see cref="Opset"/>, which ONNX Runtime 1.3x runs on its CPU provider.
/// </summary>
public sealed class OnnxGraphBuilder
{
    /// <summary>Opset 17: the first with <c>LayerNormalization</c> in the default domain; ONNX Runtime has run it since 1.14.</summary>
    public const int Opset = 17;

    /// <summary>IR version 8 is the one that goes with opset 17.</summary>
    public const long IrVersion = 8;

    readonly GraphProto graph = new() { Name = "multitask" };
    readonly HashSet<string> names = new(StringComparer.Ordinal);
    readonly Dictionary<string, string> constants = new(StringComparer.Ordinal);

    /// <summary>A value name not used yet, built from <paramref name="hint"/>.</summary>
    public string Fresh(string hint)
    {
        var name = hint;
        for (int i = 1; !names.Add(name); i++) name = $"{hint}_{i}";
        return name;
    }

    /// <summary>A float initializer holding <paramref name="tensor"/>'s values as float32 (bf16 and fp16 are widened).</summary>
    public string Weight(string hint, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var t = tensor.detach().cpu().to_type(ScalarType.Float32).contiguous();
        return Floats(hint, t.data<float>().ToArray(), t.shape);
    }

    /// <summary>A float initializer.</summary>
    public string Floats(string hint, float[] data, long[] dims)
    {
        var name = Fresh(hint);
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(dims);
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>An int64 initializer, shared between callers that ask for the same values.</summary>
    public string Int64s(params long[] values) => Int64s(values, [values.Length]);

    /// <summary>An int64 scalar (rank 0) initializer.</summary>
    public string Int64Scalar(long value) => Int64s([value], []);

    string Int64s(long[] values, long[] dims)
    {
        var key = $"i64[{string.Join(",", dims)}]:{string.Join(",", values)}";
        if (constants.TryGetValue(key, out var existing)) return existing;
        var name = Fresh(dims.Length == 0 ? $"const_{values[0]}" : $"const_[{string.Join("_", values)}]");
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.AddRange(dims);
        proto.Int64Data.AddRange(values);
        graph.Initializer.Add(proto);
        return constants[key] = name;
    }

    /// <summary>A float scalar (rank 0) initializer, shared between callers that ask for the same value.</summary>
    public string FloatScalar(float value)
    {
        var key = $"f32:{BitConverter.SingleToInt32Bits(value)}";
        if (constants.TryGetValue(key, out var existing)) return existing;
        return constants[key] = Floats($"const_{value:R}", [value], []);
    }

    /// <summary>Adds a node with one output; returns the output's name.</summary>
    public string Node(string op, string hint, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        var output = Fresh(hint);
        var node = new NodeProto { OpType = op, Name = Fresh("node_" + output) };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        return output;
    }

    /// <summary>Renames a value into a graph output of that name (an Identity node), so that outputs carry task names.</summary>
    public void Output(string value, string name, TensorProto.Types.DataType type, params object[] dims)
    {
        if (!names.Add(name)) throw new InvalidOperationException($"ONNX export: the output name '{name}' is already used in the graph.");
        var node = new NodeProto { OpType = "Identity", Name = Fresh("node_" + name) };
        node.Input.Add(value);
        node.Output.Add(name);
        graph.Node.Add(node);
        graph.Output.Add(ValueInfo(name, type, dims));
    }

    /// <summary>Declares a graph input; <paramref name="dims"/> are names (dynamic axes) or fixed sizes.</summary>
    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        if (!names.Add(name)) throw new InvalidOperationException($"ONNX export: the input name '{name}' is already used in the graph.");
        graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                long l => new TensorShapeProto.Types.Dimension { DimValue = l },
                int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                _ => throw new ArgumentException($"dims: expected names or sizes, found {d?.GetType().Name ?? "null"}", nameof(dims)),
            });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>The finished model: this graph, opset <see cref="Opset"/> of the default domain, and metadata.</summary>
    public ModelProto Build(string docString, IReadOnlyDictionary<string, string> metadata)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "MultiTask Kit",
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "",
            DocString = docString,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    /// <summary>Nodes so far (for tests and summaries).</summary>
    public int NodeCount => graph.Node.Count;
}
