#include "fastlinear.h"

#include <dlfcn.h>

#ifdef KDLAB_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

namespace kd {
namespace {

#ifdef KDLAB_HAVE_DNNL
// Row-major C[M, N] = op(A) op(B) + beta C, on oneDNN (OpenMP threads: LibTorch's setting).
void sgemm(char transA, char transB, std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
           std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
    const dnnl_status_t status =
        dnnl_sgemm(transA, transB, m, n, k, /*alpha=*/1.0f, a, lda, b, ldb, beta, c, ldc);
    TORCH_CHECK(status == dnnl_success, "oneDNN sgemm failed with status ", int(status));
}

struct OneDnnLinear : torch::autograd::Function<OneDnnLinear> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& weight, const torch::Tensor& bias) {
        const std::int64_t n = x.size(0), in = x.size(1), out = weight.size(0);
        // Start from the bias in every row and accumulate the product onto it (beta = 1). A fresh tensor:
        // for n == 1, expand().contiguous() would return the bias itself and the product would overwrite it.
        torch::Tensor y = torch::empty({n, out}, x.options());
        y.copy_(bias.expand({n, out}));
        sgemm('N', 'T', n, out, in, x.data_ptr<float>(), in, weight.data_ptr<float>(), in, /*beta=*/1.0f,
              y.data_ptr<float>(), out);
        ctx->save_for_backward({x, weight});
        return y;
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor& weight = saved[1];
        const torch::Tensor g = grads[0].contiguous();
        const std::int64_t n = x.size(0), in = x.size(1), out = weight.size(0);
        torch::Tensor gradX, gradW, gradB;
        if (ctx->needs_input_grad(0)) {
            gradX = torch::empty({n, in}, x.options());
            sgemm('N', 'N', n, in, out, g.data_ptr<float>(), out, weight.data_ptr<float>(), in, 0.0f,
                  gradX.data_ptr<float>(), in);
        }
        if (ctx->needs_input_grad(1)) {
            gradW = torch::empty({out, in}, weight.options());
            sgemm('T', 'N', out, in, n, g.data_ptr<float>(), out, x.data_ptr<float>(), in, 0.0f,
                  gradW.data_ptr<float>(), in);
        }
        if (ctx->needs_input_grad(2))
            gradB = g.sum(/*dim=*/0);
        return {gradX, gradW, gradB};
    }
};

bool oneDnnCanRun(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
    auto ok = [](const torch::Tensor& t) {
        return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32 &&
               t.is_contiguous() && t.layout() == torch::kStrided;
    };
    return fastLinearUsesOneDnn() && x.dim() == 2 && x.size(0) > 0 && ok(x) && ok(weight) && ok(bias);
}
#endif

} // namespace

bool fastLinearUsesOneDnn() {
#ifdef KDLAB_HAVE_DNNL
    return true;
#else
    return false;
#endif
}

torch::Tensor fastLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
#ifdef KDLAB_HAVE_DNNL
    if (oneDnnCanRun(x, weight, bias))
        return OneDnnLinear::apply(x, weight, bias);
#endif
    return torch::nn::functional::linear(x, weight, bias);
}

torch::Tensor FastLinearImpl::forward(const torch::Tensor& input) {
    return fastLinear(input.dim() == 2 ? input.contiguous() : input, weight, bias);
}

void setOpenBlasThreads(int threads) {
    // Looked up at run time: LibTorch may be linked against another BLAS (or MKL), where this is absent.
    using SetThreads = void (*)(int);
    if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(threads);
}

} // namespace kd
