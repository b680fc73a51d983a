using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>The feed-forward activations named by Hugging Face's <c>hidden_act</c>.</summary>
public static class BertActivation
{
    public static Func<Tensor, Tensor> Get(string name, string source = "hidden_act") => name switch
    {
        // Hugging Face's "gelu" is the exact erf form (Hendrycks & Gimpel 2016), as torch's default gelu.
        "gelu" => x => nn.functional.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => x => nn.functional.relu(x),
        "silu" or "swish" => x => nn.functional.silu(x),
        _ => throw new ArgumentException($"{source}: unsupported hidden_act '{name}'; expected gelu, gelu_new, gelu_pytorch_tanh, relu or silu."),
    };
}
