#include "fastpool.h"
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

struct PoolShape {
    std::int64_t n, c, h, w, kh, kw, sh, sw;
    bool training;
    bool operator<(const PoolShape& o) const {
        return std::tie(n, c, h, w, kh, kw, sh, sw, training) <
               std::tie(o.n, o.c, o.h, o.w, o.kh, o.kw, o.sh, o.sw, o.training);
    }
    std::int64_t oh() const { return (h - kh) / sh + 1; }
    std::int64_t ow() const { return (w - kw) / sw + 1; }
};

// Built once per shape; the scratchpad is the caller's, so concurrent runs may share them (see fastconv.cpp).
struct PoolPrimitives {
    memory::desc src, dst;
    dnnl::pooling_forward::primitive_desc forwardPd;
    dnnl::pooling_forward forward;
    dnnl::pooling_backward::primitive_desc backwardPd;
    dnnl::pooling_backward backward;
};

std::unique_ptr<PoolPrimitives> buildPrimitives(const PoolShape& s) {
    auto p = std::make_unique<PoolPrimitives>();
    p->src = memory::desc({s.n, s.c, s.h, s.w}, kF32, Tag::nhwc);
    p->dst = memory::desc({s.n, s.c, s.oh(), s.ow()}, kF32, Tag::nhwc);
    const memory::dims strides = {s.sh, s.sw}, kernel = {s.kh, s.kw}, padding = {0, 0};
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    p->forwardPd = dnnl::pooling_forward::primitive_desc(
        dnnl::pooling_forward::desc(
            s.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
            dnnl::algorithm::pooling_max, p->src, p->dst, strides, kernel, padding, padding),
        attr, cpuEngine());
    p->forward = dnnl::pooling_forward(p->forwardPd);
    if (s.training) {
        p->backwardPd = dnnl::pooling_backward::primitive_desc(
            dnnl::pooling_backward::desc(dnnl::algorithm::pooling_max, p->src, p->dst, strides, kernel,
                                         padding, padding),
            attr, cpuEngine(), p->forwardPd);
        p->backward = dnnl::pooling_backward(p->backwardPd);
    }
    return p;
}

const PoolPrimitives& primitivesFor(const PoolShape& shape) {
    return onednn::primitivesFor<PoolPrimitives>(shape, buildPrimitives);
}

// Runs the forward pass; with `workspace`, the training kind, which records each window's winner there.
torch::Tensor runForward(const PoolPrimitives& p, const torch::Tensor& x, const PoolShape& s,
                         torch::Tensor* workspace) {
    dnnl::stream stream(cpuEngine());
    torch::Tensor y =
        torch::empty({s.n, s.c, s.oh(), s.ow()}, x.options(), torch::MemoryFormat::ChannelsLast);
    torch::Tensor scratch = bytesFor(p.forwardPd.scratchpad_desc());
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, over(p.src, x)},
        {DNNL_ARG_DST, over(p.dst, y)},
        {DNNL_ARG_SCRATCHPAD, over(p.forwardPd.scratchpad_desc(), scratch)}};
    if (workspace) {
        *workspace = bytesFor(p.forwardPd.workspace_desc());
        args.insert({DNNL_ARG_WORKSPACE, over(p.forwardPd.workspace_desc(), *workspace)});
    }
    p.forward.execute(stream, args);
    stream.wait();
    return y;
}

PoolShape shapeOf(const torch::Tensor& x, const torch::nn::MaxPool2dOptions& o, bool training) {
    return {x.size(0),
            x.size(1),
            x.size(2),
            x.size(3),
            o.kernel_size()->at(0),
            o.kernel_size()->at(1),
            o.stride()->at(0),
            o.stride()->at(1),
            training};
}

struct OneDnnMaxPool : torch::autograd::Function<OneDnnMaxPool> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 std::vector<std::int64_t> window) {
        const PoolShape s = {x.size(0), x.size(1), x.size(2), x.size(3),        window[0],
                             window[1], window[2], window[3], /*training=*/true};
        torch::Tensor workspace;
        torch::Tensor y = runForward(primitivesFor(s), x, s, &workspace);
        ctx->save_for_backward({workspace});
        ctx->saved_data["shape"] = std::vector<std::int64_t>{s.n, s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw};
        return y;
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads) {
        const torch::Tensor workspace = ctx->get_saved_variables()[0];
        const std::vector<std::int64_t> v = ctx->saved_data["shape"].toIntVector();
        const PoolShape s = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], /*training=*/true};
        const PoolPrimitives& p = primitivesFor(s);
        const torch::Tensor g = grads[0].contiguous(torch::MemoryFormat::ChannelsLast);
        torch::Tensor gx = torch::empty({s.n, s.c, s.h, s.w}, g.options(), torch::MemoryFormat::ChannelsLast);
        torch::Tensor scratch = bytesFor(p.backwardPd.scratchpad_desc());
        dnnl::stream stream(cpuEngine());
        p.backward.execute(stream, {{DNNL_ARG_DIFF_DST, over(p.dst, g)},
                                    {DNNL_ARG_DIFF_SRC, over(p.src, gx)},
                                    {DNNL_ARG_WORKSPACE, over(p.forwardPd.workspace_desc(), workspace)},
                                    {DNNL_ARG_SCRATCHPAD, over(p.backwardPd.scratchpad_desc(), scratch)}});
        stream.wait();
        return {gx, torch::Tensor()};
    }
};
#endif

} // namespace

torch::Tensor FastMaxPool2dImpl::forward(const torch::Tensor& input) {
#ifdef KDLAB_HAVE_DNNL
    const auto& o = options;
    const bool plain = oneDnnLayersEnabled() && o.padding()->at(0) == 0 && o.padding()->at(1) == 0 &&
                       o.dilation()->at(0) == 1 && o.dilation()->at(1) == 1 && !o.ceil_mode() &&
                       input.dim() == 4 && input.numel() > 0 && input.device().is_cpu() &&
                       input.scalar_type() == torch::kFloat32 && input.size(2) >= o.kernel_size()->at(0) &&
                       input.size(3) >= o.kernel_size()->at(1);
    if (plain) {
        const torch::Tensor x = input.contiguous(torch::MemoryFormat::ChannelsLast);
        if (torch::GradMode::is_enabled() && input.requires_grad())
            return OneDnnMaxPool::apply(x, std::vector<std::int64_t>{o.kernel_size()->at(0),
                                                                     o.kernel_size()->at(1),
                                                                     o.stride()->at(0), o.stride()->at(1)});
        const PoolShape s = shapeOf(x, o, /*training=*/false);
        return runForward(primitivesFor(s), x, s, nullptr);
    }
#endif
    return torch::nn::MaxPool2dImpl::forward(input);
}

} // namespace kd
