#include "fastconv.h"
#include "onednn.h"

#ifdef KDLAB_HAVE_DNNL
#include <tuple>
#endif

namespace kd {
namespace {

#ifdef KDLAB_HAVE_DNNL
using dnnl::memory;
using onednn::bytesFor;
using onednn::cpuEngine;
using onednn::over;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

struct ConvShape {
    std::int64_t n, ic, oc, h, w, kh, kw, pad;
    bool training;
    bool operator<(const ConvShape& o) const {
        return std::tie(n, ic, oc, h, w, kh, kw, pad, training) <
               std::tie(o.n, o.ic, o.oc, o.h, o.w, o.kh, o.kw, o.pad, o.training);
    }
    std::int64_t oh() const { return h + 2 * pad - kh + 1; }
    std::int64_t ow() const { return w + 2 * pad - kw + 1; }
};

// Built once per shape (building one JIT-compiles its kernels: milliseconds). The activations are NHWC
// (LibTorch's channels-last), the weights in whatever layout oneDNN prefers ("any"), reordered from and to
// LibTorch's OIHW around each call (a few thousand floats). The scratchpad is the caller's, so the app's
// training and sweep threads may run the same primitives at once.
struct ConvPrimitives {
    memory::desc src, dst, userWeights, bias;
    dnnl::convolution_forward::primitive_desc forwardPd;
    dnnl::convolution_forward forward;
    std::unique_ptr<dnnl::reorder> weightsToForward;
    dnnl::convolution_backward_data::primitive_desc backwardDataPd;
    dnnl::convolution_backward_data backwardData;
    std::unique_ptr<dnnl::reorder> weightsToBackwardData;
    dnnl::convolution_backward_weights::primitive_desc backwardWeightsPd;
    dnnl::convolution_backward_weights backwardWeights;
    std::unique_ptr<dnnl::reorder> diffWeightsToUser;
};

std::unique_ptr<dnnl::reorder> reorderIfNeeded(const memory::desc& from, const memory::desc& to) {
    if (from == to)
        return nullptr;
    return std::make_unique<dnnl::reorder>(dnnl::reorder::primitive_desc(cpuEngine(), from, cpuEngine(), to));
}

std::unique_ptr<ConvPrimitives> buildPrimitives(const ConvShape& s) {
    auto p = std::make_unique<ConvPrimitives>();
    const memory::dims strides = {1, 1}, padding = {s.pad, s.pad};
    p->src = memory::desc({s.n, s.ic, s.h, s.w}, kF32, Tag::nhwc);
    p->dst = memory::desc({s.n, s.oc, s.oh(), s.ow()}, kF32, Tag::nhwc);
    p->userWeights = memory::desc({s.oc, s.ic, s.kh, s.kw}, kF32, Tag::oihw);
    p->bias = memory::desc({s.oc}, kF32, Tag::x);
    const memory::desc anyWeights({s.oc, s.ic, s.kh, s.kw}, kF32, Tag::any);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

    p->forwardPd = dnnl::convolution_forward::primitive_desc(
        dnnl::convolution_forward::desc(s.training ? dnnl::prop_kind::forward_training
                                                   : dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_direct, p->src, anyWeights, p->bias,
                                        p->dst, strides, padding, padding),
        attr, cpuEngine());
    p->forward = dnnl::convolution_forward(p->forwardPd);
    p->weightsToForward = reorderIfNeeded(p->userWeights, p->forwardPd.weights_desc());
    if (!s.training)
        return p;

    p->backwardDataPd = dnnl::convolution_backward_data::primitive_desc(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, p->src, anyWeights, p->dst,
                                              strides, padding, padding),
        attr, cpuEngine(), p->forwardPd);
    p->backwardData = dnnl::convolution_backward_data(p->backwardDataPd);
    p->weightsToBackwardData = reorderIfNeeded(p->userWeights, p->backwardDataPd.weights_desc());
    p->backwardWeightsPd = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, p->src, anyWeights,
                                                 p->bias, p->dst, strides, padding, padding),
        attr, cpuEngine(), p->forwardPd);
    p->backwardWeights = dnnl::convolution_backward_weights(p->backwardWeightsPd);
    p->diffWeightsToUser = reorderIfNeeded(p->backwardWeightsPd.diff_weights_desc(), p->userWeights);
    return p;
}

const ConvPrimitives& primitivesFor(const ConvShape& shape) {
    return onednn::primitivesFor<ConvPrimitives>(shape, buildPrimitives);
}

// The weights in the layout a primitive wants: the tensor's own memory, or a reordered copy in `keep`.
memory weightsFor(const std::unique_ptr<dnnl::reorder>& reorder, const memory::desc& user,
                  const memory::desc& wanted, const torch::Tensor& weight, torch::Tensor& keep,
                  dnnl::stream& stream) {
    memory userMemory = over(user, weight);
    if (!reorder)
        return userMemory;
    keep = bytesFor(wanted);
    memory reordered = over(wanted, keep);
    reorder->execute(stream, userMemory, reordered);
    return reordered;
}

ConvShape shapeOf(const torch::Tensor& x, const torch::Tensor& weight, std::int64_t padding, bool training) {
    return {x.size(0),      x.size(1),      weight.size(0), x.size(2), x.size(3),
            weight.size(2), weight.size(3), padding,        training};
}

torch::Tensor channelsLast(const torch::Tensor& t) {
    return t.contiguous(torch::MemoryFormat::ChannelsLast);
}

torch::Tensor runForward(const ConvPrimitives& p, const torch::Tensor& x, const torch::Tensor& weight,
                         const torch::Tensor& bias, const ConvShape& s) {
    dnnl::stream stream(cpuEngine());
    torch::Tensor y =
        torch::empty({s.n, s.oc, s.oh(), s.ow()}, x.options(), torch::MemoryFormat::ChannelsLast);
    torch::Tensor reordered, scratch = bytesFor(p.forwardPd.scratchpad_desc());
    memory w =
        weightsFor(p.weightsToForward, p.userWeights, p.forwardPd.weights_desc(), weight, reordered, stream);
    p.forward.execute(stream, {{DNNL_ARG_SRC, over(p.src, x)},
                               {DNNL_ARG_WEIGHTS, w},
                               {DNNL_ARG_BIAS, over(p.bias, bias)},
                               {DNNL_ARG_DST, over(p.dst, y)},
                               {DNNL_ARG_SCRATCHPAD, over(p.forwardPd.scratchpad_desc(), scratch)}});
    stream.wait();
    return y;
}

struct OneDnnConv2d : torch::autograd::Function<OneDnnConv2d> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& weight, const torch::Tensor& bias,
                                 std::int64_t padding) {
        const ConvShape s = shapeOf(x, weight, padding, /*training=*/true);
        const ConvPrimitives& p = primitivesFor(s);
        torch::Tensor y = runForward(p, x, weight, bias, s);
        ctx->save_for_backward({x, weight});
        ctx->saved_data["padding"] = padding;
        return y;
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor& weight = saved[1];
        const std::int64_t padding = ctx->saved_data["padding"].toInt();
        const ConvShape s = shapeOf(x, weight, padding, /*training=*/true);
        const ConvPrimitives& p = primitivesFor(s);
        const torch::Tensor g = channelsLast(grads[0]);
        dnnl::stream stream(cpuEngine());
        torch::Tensor gradX, gradW, gradB;
        // The first layer's input is the images: no gradient wanted, and none computed (a third of its cost).
        if (ctx->needs_input_grad(0)) {
            gradX = torch::empty({s.n, s.ic, s.h, s.w}, x.options(), torch::MemoryFormat::ChannelsLast);
            torch::Tensor reordered, scratch = bytesFor(p.backwardDataPd.scratchpad_desc());
            memory w = weightsFor(p.weightsToBackwardData, p.userWeights, p.backwardDataPd.weights_desc(),
                                  weight, reordered, stream);
            p.backwardData.execute(
                stream, {{DNNL_ARG_DIFF_DST, over(p.dst, g)},
                         {DNNL_ARG_WEIGHTS, w},
                         {DNNL_ARG_DIFF_SRC, over(p.src, gradX)},
                         {DNNL_ARG_SCRATCHPAD, over(p.backwardDataPd.scratchpad_desc(), scratch)}});
        }
        if (ctx->needs_input_grad(1) || ctx->needs_input_grad(2)) {
            gradW = torch::empty(weight.sizes(), weight.options());
            gradB = torch::empty({s.oc}, weight.options());
            const memory::desc& diffDesc = p.backwardWeightsPd.diff_weights_desc();
            torch::Tensor blocked = p.diffWeightsToUser ? bytesFor(diffDesc) : torch::Tensor();
            memory diffWeights = p.diffWeightsToUser ? over(diffDesc, blocked) : over(p.userWeights, gradW);
            torch::Tensor scratch = bytesFor(p.backwardWeightsPd.scratchpad_desc());
            p.backwardWeights.execute(
                stream, {{DNNL_ARG_SRC, over(p.src, x)},
                         {DNNL_ARG_DIFF_DST, over(p.dst, g)},
                         {DNNL_ARG_DIFF_WEIGHTS, diffWeights},
                         {DNNL_ARG_DIFF_BIAS, over(p.bias, gradB)},
                         {DNNL_ARG_SCRATCHPAD, over(p.backwardWeightsPd.scratchpad_desc(), scratch)}});
            if (p.diffWeightsToUser) {
                memory user = over(p.userWeights, gradW);
                p.diffWeightsToUser->execute(stream, diffWeights, user);
            }
        }
        stream.wait();
        if (!ctx->needs_input_grad(1))
            gradW = torch::Tensor();
        if (!ctx->needs_input_grad(2))
            gradB = torch::Tensor();
        return {gradX, gradW, gradB, torch::Tensor()};
    }
};

bool oneDnnCanRun(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                  std::int64_t padding) {
    auto ok = [](const torch::Tensor& t) {
        return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32 &&
               t.layout() == torch::kStrided;
    };
    return x.dim() == 4 && weight.dim() == 4 && x.size(0) > 0 && ok(x) && ok(weight) && ok(bias) &&
           weight.is_contiguous() && bias.is_contiguous() && x.size(1) == weight.size(1) && padding >= 0 &&
           x.size(2) + 2 * padding >= weight.size(2) && x.size(3) + 2 * padding >= weight.size(3);
}
#endif

} // namespace

bool fastConvUsesOneDnn() {
    return oneDnnLayersEnabled();
}

torch::Tensor fastConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                         std::int64_t padding) {
#ifdef KDLAB_HAVE_DNNL
    if (fastConvUsesOneDnn() && oneDnnCanRun(x, weight, bias, padding)) {
        const torch::Tensor input = channelsLast(x);
        const bool training = torch::GradMode::is_enabled() &&
                              (x.requires_grad() || weight.requires_grad() || bias.requires_grad());
        if (training)
            return OneDnnConv2d::apply(input, weight, bias, padding);
        // Evaluation (teacher logits, the test set): forward only, with the inference kernels.
        const ConvShape s = shapeOf(input, weight, padding, /*training=*/false);
        return runForward(primitivesFor(s), input, weight, bias, s);
    }
#endif
    return torch::conv2d(x, weight, bias, /*stride=*/1, /*padding=*/padding);
}

torch::Tensor FastConv2dImpl::forward(const torch::Tensor& input) {
    const auto& o = options;
    const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
    const bool plain = padding && (*padding)->at(0) == (*padding)->at(1) && o.stride()->at(0) == 1 &&
                       o.stride()->at(1) == 1 && o.dilation()->at(0) == 1 && o.dilation()->at(1) == 1 &&
                       o.groups() == 1 && bias.defined() &&
                       c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()) != nullptr;
    if (!plain)
        return torch::nn::Conv2dImpl::forward(input);
    return fastConv2d(input, weight, bias, (*padding)->at(0));
}

} // namespace kd
