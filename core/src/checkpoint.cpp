#include "checkpointio.h"

#include "kdcore/error.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace kd {
namespace {

const char* const kSpecKey = "kdlab.spec";
const char* const kInputKey = "kdlab.input";        // [channels, height, width, classes]
const char* const kNormKey = "kdlab.normalisation"; // [mean, stddev]
const char* const kCardKey = "kdlab.card";          // model card JSON (optional)

CheckpointInfo readInfo(torch::serialize::InputArchive& archive, const std::string& path) {
    CheckpointInfo info;
    c10::IValue spec, input, norm;
    if (!archive.try_read(kSpecKey, spec) || !spec.isString() || !archive.try_read(kInputKey, input) ||
        !input.isIntList() || input.toIntList().size() != 4)
        throw Error(path + ": not a kdlab checkpoint (no architecture metadata)");
    info.spec = spec.toStringRef();
    const auto in = input.toIntVector();
    info.input = InputShape{int(in[0]), int(in[1]), int(in[2]), int(in[3])};
    if (archive.try_read(kNormKey, norm) && norm.isDoubleList() && norm.toDoubleList().size() == 2) {
        const auto v = norm.toDoubleVector();
        info.mean = float(v[0]);
        info.stddev = float(v[1]);
    }
    c10::IValue card;
    if (archive.try_read(kCardKey, card) && card.isString())
        info.card = card.toStringRef();
    return info;
}

void loadArchive(torch::serialize::InputArchive& archive, const std::string& path) {
    std::ifstream probe(path, std::ios::binary);
    if (!probe)
        throw Error(path + ": cannot open checkpoint (" + std::strerror(errno) + ")");
    try {
        archive.load_from(path);
    } catch (const c10::Error&) {
        throw Error(path + ": not a readable checkpoint (corrupt, truncated, or not a LibTorch archive)");
    }
}

} // namespace

std::string writeWholeFile(const std::string& path, const std::string& bytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
        return std::strerror(errno);
    const std::size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
    int error = written == bytes.size() ? 0 : errno;
    if (std::fflush(f) != 0 && !error)
        error = errno;
    // On disk before a rename makes it the file: after a power cut the rename must not point at nothing.
    if (!error && ::fsync(::fileno(f)) != 0 && errno != EINVAL && errno != EROFS)
        error = errno;
    if (std::fclose(f) != 0 && !error)
        error = errno;
    if (!error)
        return {};
    std::remove(path.c_str());
    return std::strerror(error ? error : EIO);
}

void saveNet(KdNetImpl& net, const std::string& path, const std::string& card, const ArchiveWriter& extra) {
    const std::string tmp = path + ".tmp";
    try {
        torch::serialize::OutputArchive archive;
        net.save(archive);
        archive.write(kSpecKey, c10::IValue(net.spec().toString()));
        const InputShape& in = net.input();
        archive.write(kInputKey,
                      c10::IValue(std::vector<std::int64_t>{in.channels, in.height, in.width, in.classes}));
        archive.write(kNormKey, c10::IValue(std::vector<double>{net.mean(), net.stddev()}));
        if (!card.empty())
            archive.write(kCardKey, c10::IValue(card));
        if (extra)
            extra(archive);
        std::ostringstream bytes;
        archive.save_to(bytes);
        const std::string why = writeWholeFile(tmp, bytes.str());
        if (!why.empty())
            throw Error(path + ": cannot write checkpoint (" + why + ")");
    } catch (const c10::Error& e) {
        std::remove(tmp.c_str());
        throw Error(path + ": cannot write checkpoint (" + std::string(e.what_without_backtrace()) + ")");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        throw Error(path + ": cannot write checkpoint (" + why + ")");
    }
}

KdNet loadNet(const std::string& path, CheckpointInfo* infoOut, const ArchiveReader& extra) {
    torch::serialize::InputArchive archive;
    loadArchive(archive, path);
    const CheckpointInfo info = readInfo(archive, path);
    ModelSpec spec;
    try {
        spec = parseModelSpec(info.spec);
    } catch (const Error& e) {
        throw Error(path + ": " + e.what());
    }
    KdNet net(spec, info.input, info.mean, info.stddev);
    try {
        net->load(archive);
    } catch (const c10::Error&) {
        throw Error(path + ": weights do not match the architecture '" + info.spec + "' it names");
    }
    if (extra)
        extra(archive);
    if (infoOut)
        *infoOut = info;
    return net;
}

CheckpointInfo readCheckpointInfo(const std::string& path) {
    torch::serialize::InputArchive archive;
    loadArchive(archive, path);
    return readInfo(archive, path);
}

} // namespace kd
