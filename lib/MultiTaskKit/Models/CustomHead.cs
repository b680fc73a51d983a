using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>A head from any module and any loss function, e.g. a ranking loss or a focal loss.</summary>
public sealed class CustomHead : TaskHead
{
    readonly nn.Module<Tensor, Tensor> body;
    readonly Func<Tensor, Tensor, Tensor> loss;
    readonly HeadKind kind;

    /// <param name="body">Maps the pooled vector to the prediction; its parameters belong to the task.</param>
    /// <param name="loss">(prediction, target) to a scalar loss.</param>
    /// <param name="kind">How evaluation should treat the predictions.</param>
    public CustomHead(nn.Module<Tensor, Tensor> body, Func<Tensor, Tensor, Tensor> loss, HeadKind kind = HeadKind.Custom) : base("custom_head")
    {
        this.body = body ?? throw new ArgumentNullException(nameof(body));
        this.loss = loss ?? throw new ArgumentNullException(nameof(loss));
        this.kind = kind;
        register_module("body", body);
    }

    public override HeadKind Kind => kind;

    public override Tensor forward(Tensor pooled) => body.call(pooled);

    public override Tensor Loss(Tensor prediction, Tensor target)
    {
        var value = loss(prediction, target);
        if (value.numel() != 1)
            throw new InvalidOperationException($"custom loss: expected a scalar, found shape [{string.Join(", ", value.shape)}]");
        return value.reshape(Array.Empty<long>());
    }
}
