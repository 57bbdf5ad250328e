#pragma once

namespace kd {

// One temperature range for every control and file: the panel's, the lens's and the dark-knowledge view's
// sliders and boxes, config files, presets and --temperature. The distillation loss is tested across it.
inline constexpr double kMinTemperature = 0.1;
inline constexpr double kMaxTemperature = 100.0;

// The three T sliders share one log-scale mapping over the span a lesson moves T in; their spin boxes take
// the whole range above. A position maps to T rounded to the boxes' two decimals.
inline constexpr double kSliderMinTemperature = 0.25;
inline constexpr double kSliderMaxTemperature = 20.0;
inline constexpr int kTemperatureSliderSteps = 1000;
int temperatureToSlider(double temperature); // clamped to the slider's span
double sliderToTemperature(int position);    // 0..kTemperatureSliderSteps

} // namespace kd
