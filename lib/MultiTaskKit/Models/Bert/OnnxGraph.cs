using Google.Protobuf;

namespace MultiTaskKit.Models.Bert;

/// <summary>A float tensor stored in an ONNX graph (an initializer or a <c>Constant</c> node's value).</summary>
internal sealed record OnnxTensor(string Name, long[] Dims, float[] Data);

/// <summary>One node of an ONNX graph: its operator and the names of its inputs and outputs.</summary>
/// <remarks><paramref name="IntAttributes"/> holds the node's integer attributes (Gemm's transB, for example).</remarks>
internal sealed record OnnxNode(string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, long> IntAttributes);

/// <summary>
/// The parts of an ONNX model that a weight importer needs: the float initializers and the nodes.
/// Reads the protobuf wire format directly with Google.Protobuf's <see cref="CodedInputStream"/>, field numbers from
/// onnx.proto (ModelProto.graph = 7; GraphProto.node = 1, initializer = 5; NodeProto.input = 1, output = 2, name = 3,
/// op_type = 4; TensorProto.dims = 1, data_type = 2, float_data = 4, name = 8, raw_data = 9, data_location = 14).
/// Only what an exported BERT needs is decoded; other fields are skipped, which protobuf allows.
/// </summary>
internal sealed class OnnxGraph
{
    const int FloatType = 1;

    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }
    public IReadOnlyList<OnnxNode> Nodes { get; }

    OnnxGraph(Dictionary<string, OnnxTensor> initializers, List<OnnxNode> nodes)
    {
        Initializers = initializers;
        Nodes = nodes;
    }

    /// <summary>Parses a whole ONNX model. <paramref name="source"/> names the model in errors.</summary>
    public static OnnxGraph Parse(byte[] model, string source)
    {
        var initializers = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var nodes = new List<OnnxNode>();
        try
        {
            var input = new CodedInputStream(model);
            bool sawGraph = false;
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) == 7 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    ReadGraph(input.ReadBytes(), initializers, nodes, source);
                    sawGraph = true;
                }
                else input.SkipLastField();
            }
            if (!sawGraph) throw new InvalidDataException($"{source}: not an ONNX model (no graph field found).");
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{source}: not a readable ONNX protobuf ({e.Message}).", e);
        }
        return new OnnxGraph(initializers, nodes);
    }

    static void ReadGraph(ByteString bytes, Dictionary<string, OnnxTensor> initializers, List<OnnxNode> nodes, string source)
    {
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    var node = ReadNode(input.ReadBytes(), source);
                    nodes.Add(node);
                    break;
                case 5:
                    if (ReadTensor(input.ReadBytes(), source) is { } t) initializers[t.Name] = t;
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
    }

    static OnnxNode ReadNode(ByteString bytes, string source)
    {
        var input = bytes.CreateCodedInput();
        var inputs = new List<string>();
        var outputs = new List<string>();
        var ints = new Dictionary<string, long>(StringComparer.Ordinal);
        string name = "", op = "";
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: inputs.Add(input.ReadString()); break;
                case 2: outputs.Add(input.ReadString()); break;
                case 3: name = input.ReadString(); break;
                case 4: op = input.ReadString(); break;
                case 5:
                    if (ReadIntAttribute(input.ReadBytes()) is { } attr) ints[attr.Name] = attr.Value;
                    break;
                default: input.SkipLastField(); break;
            }
        }
        return new OnnxNode(name, op, inputs, outputs, ints);
    }

    // AttributeProto: name = 1, i = 3, type = 20 (INT = 2).
    static (string Name, long Value)? ReadIntAttribute(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        string name = "";
        long value = 0;
        int type = 0;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: name = input.ReadString(); break;
                case 3: value = input.ReadInt64(); break;
                case 20: type = input.ReadInt32(); break;
                default: input.SkipLastField(); break;
            }
        }
        return type == 2 ? (name, value) : null;
    }

    /// <summary>Null for non-float tensors (shape constants and the like), which a weight importer never needs.</summary>
    static OnnxTensor? ReadTensor(ByteString bytes, string source)
    {
        var input = bytes.CreateCodedInput();
        var dims = new List<long>();
        var floats = new List<float>();
        int dataType = 0, location = 0;
        string name = "";
        ByteString? raw = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int field = WireFormat.GetTagFieldNumber(tag);
            var wire = WireFormat.GetTagWireType(tag);
            switch (field)
            {
                case 1 when wire == WireFormat.WireType.LengthDelimited:
                    var packed = input.ReadBytes().CreateCodedInput();
                    while (!packed.IsAtEnd) dims.Add(packed.ReadInt64());
                    break;
                case 1: dims.Add(input.ReadInt64()); break;
                case 2: dataType = input.ReadInt32(); break;
                case 4 when wire == WireFormat.WireType.LengthDelimited:
                    var packedFloats = input.ReadBytes().CreateCodedInput();
                    while (!packedFloats.IsAtEnd) floats.Add(packedFloats.ReadFloat());
                    break;
                case 4: floats.Add(input.ReadFloat()); break;
                case 8: name = input.ReadString(); break;
                case 9: raw = input.ReadBytes(); break;
                case 14: location = input.ReadInt32(); break;
                default: input.SkipLastField(); break;
            }
        }
        if (dataType != FloatType) return null;
        if (location != 0)
            throw new InvalidDataException($"{source}: initializer '{name}' keeps its data in an external file, which this reader does not follow.");
        long count = dims.Aggregate(1L, (a, b) => a * b);
        float[] data;
        if (raw is { Length: > 0 })
        {
            if (raw.Length != count * sizeof(float))
                throw new InvalidDataException($"{source}: initializer '{name}' has shape [{string.Join(", ", dims)}] ({count} floats) but {raw.Length} bytes of data.");
            data = new float[count];
            // ONNX raw_data is little-endian, as is every platform .NET runs TorchSharp on.
            raw.Span.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        }
        else
        {
            if (floats.Count != count)
                throw new InvalidDataException($"{source}: initializer '{name}' has shape [{string.Join(", ", dims)}] ({count} floats) but {floats.Count} values.");
            data = floats.ToArray();
        }
        return new OnnxTensor(name, dims.ToArray(), data);
    }
}
