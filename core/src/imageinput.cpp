// Image files -> model input, with OpenCV's codecs and resizing (no LibTorch here: quick to compile).
#include "kdcore/error.h"
#include "kdcore/predict.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace kd {
namespace {

// 8-bit grey from whatever imread gave (1, 3 or 4 channels; 8, 16 or 32-bit). Transparent pixels are laid
// on white, as an image viewer shows them.
cv::Mat toGrey(const cv::Mat& image) {
    cv::Mat img = image;
    if (img.depth() == CV_16U)
        img.convertTo(img, CV_8U, 1.0 / 257);
    else if (img.depth() == CV_32F || img.depth() == CV_64F)
        img.convertTo(img, CV_8U, 255);
    else if (img.depth() != CV_8U)
        img.convertTo(img, CV_8U);
    if (img.channels() == 4) {
        std::vector<cv::Mat> planes;
        cv::split(img, planes);
        cv::Mat alpha;
        planes[3].convertTo(alpha, CV_32F, 1.0 / 255);
        cv::Mat colour;
        cv::merge(std::vector<cv::Mat>{planes[0], planes[1], planes[2]}, colour);
        cv::Mat grey;
        cv::cvtColor(colour, grey, cv::COLOR_BGR2GRAY);
        grey.convertTo(grey, CV_32F);
        cv::Mat onWhite = grey.mul(alpha) + (1.0 - alpha) * 255.0;
        onWhite.convertTo(img, CV_8U);
        return img;
    }
    if (img.channels() == 3) {
        cv::Mat grey;
        cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
        return grey;
    }
    return img;
}

// The median of the outermost pixels: the background, as long as the object does not fill the border.
double borderLevel(const cv::Mat& grey) {
    std::vector<unsigned char> border;
    for (int x = 0; x < grey.cols; ++x) {
        border.push_back(grey.at<unsigned char>(0, x));
        border.push_back(grey.at<unsigned char>(grey.rows - 1, x));
    }
    for (int y = 1; y + 1 < grey.rows; ++y) {
        border.push_back(grey.at<unsigned char>(y, 0));
        border.push_back(grey.at<unsigned char>(y, grey.cols - 1));
    }
    std::nth_element(border.begin(), border.begin() + long(border.size() / 2), border.end());
    return border[border.size() / 2];
}

} // namespace

PreparedImage prepareImage(const std::string& path, const InputShape& input) {
    {
        std::ifstream probe(path, std::ios::binary);
        if (!probe)
            throw Error(path + ": cannot open image (" + std::strerror(errno) + ")");
    }
    cv::Mat image;
    try {
        image = cv::imread(path, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception&) {
        image = cv::Mat();
    }
    if (image.empty() || image.rows < 1 || image.cols < 1)
        throw Error(path + ": not a readable image (expected PNG, JPEG, BMP, TIFF, PGM, ...)");
    PreparedImage out;
    out.originalWidth = image.cols;
    out.originalHeight = image.rows;

    cv::Mat grey = toGrey(image);
    const double background = borderLevel(grey);
    if (background > 127) {
        out.inverted = true;
        cv::bitwise_not(grey, grey);
    }
    // No other levelling: an image saved from the dataset itself must give the in-app model's answer.
    cv::Mat levelled;
    grey.convertTo(levelled, CV_32F, 1.0 / 255);
    // Square, keeping the aspect ratio: pad the short side with the background's level.
    const int side = std::max(levelled.cols, levelled.rows);
    if (levelled.cols != levelled.rows) {
        const int padX = side - levelled.cols, padY = side - levelled.rows;
        const double fill = (out.inverted ? 255 - background : background) / 255.0;
        cv::copyMakeBorder(levelled, levelled, padY / 2, padY - padY / 2, padX / 2, padX - padX / 2,
                           cv::BORDER_CONSTANT, cv::Scalar(fill));
    }
    cv::Mat resized;
    if (levelled.cols == input.width && levelled.rows == input.height)
        resized = levelled;
    else
        cv::resize(levelled, resized, cv::Size(input.width, input.height), 0, 0,
                   side > input.width ? cv::INTER_AREA : cv::INTER_LINEAR);
    const std::size_t plane = std::size_t(input.height) * std::size_t(input.width);
    out.pixels.resize(plane * std::size_t(std::max(1, input.channels)));
    for (int y = 0; y < input.height; ++y)
        for (int x = 0; x < input.width; ++x)
            out.pixels[std::size_t(y) * std::size_t(input.width) + std::size_t(x)] =
                std::clamp(resized.at<float>(y, x), 0.f, 1.f);
    for (int c = 1; c < input.channels; ++c) // a colour model gets the grey image in every channel
        std::copy(out.pixels.begin(), out.pixels.begin() + long(plane), out.pixels.begin() + long(plane * c));
    return out;
}

} // namespace kd
