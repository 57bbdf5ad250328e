#include "onednn.h"

#include <cstdlib>
#include <string>

namespace kd {

bool oneDnnLayersEnabled() {
#ifdef KDLAB_HAVE_DNNL
    const char* choice = std::getenv("KDLAB_CONV");
    return !(choice && std::string(choice) == "torch");
#else
    return false;
#endif
}

#ifdef KDLAB_HAVE_DNNL
namespace onednn {

dnnl::engine& cpuEngine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

dnnl::memory over(const dnnl::memory::desc& desc, const torch::Tensor& t) {
    return dnnl::memory(desc, cpuEngine(), t.data_ptr());
}

torch::Tensor bytesFor(const dnnl::memory::desc& desc) {
    return torch::empty({std::max<std::int64_t>(1, std::int64_t(desc.get_size()))},
                        torch::TensorOptions().dtype(torch::kUInt8));
}

} // namespace onednn
#endif

} // namespace kd
