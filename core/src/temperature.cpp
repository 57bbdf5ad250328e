#include "kdcore/temperature.h"

#include <algorithm>
#include <cmath>

namespace kd {

int temperatureToSlider(double t) {
    t = std::clamp(t, kSliderMinTemperature, kSliderMaxTemperature);
    return int(std::lround(std::log(t / kSliderMinTemperature) /
                           std::log(kSliderMaxTemperature / kSliderMinTemperature) *
                           kTemperatureSliderSteps));
}

double sliderToTemperature(int position) {
    position = std::clamp(position, 0, kTemperatureSliderSteps);
    const double t = kSliderMinTemperature * std::pow(kSliderMaxTemperature / kSliderMinTemperature,
                                                      double(position) / kTemperatureSliderSteps);
    return std::round(t * 100.0) / 100.0;
}

} // namespace kd
