// The oneDNN convolution and max-pooling layers against LibTorch's own torch::conv2d and torch::max_pool2d:
// forward and all gradients, for kdlab's shapes (the CNN teacher's two layers, LeNet-5's 5x5 ones, a last
// partial batch), in training and in evaluation; and the models' pool-then-ReLU order against ReLU-then-pool.
// This suite includes LibTorch (internal headers), so torch comes before any Qt header.
#include "fastconv.h"
#include "fastpool.h"

#include <QtTest>

class TestFastConv : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void matchesTorchConv2d_data();
    void matchesTorchConv2d();
    void evaluationWithoutGrad();
    void imagesGetNoGradient();
    void unsupportedOptionsFallBack();
    void concurrentLayersAgree();
    void poolMatchesTorchMaxPool2d_data();
    void poolMatchesTorchMaxPool2d();
    void poolThenReluEqualsReluThenPool();
};

namespace {
double maxRelativeError(const torch::Tensor& a, const torch::Tensor& b) {
    const double scale = std::max(1e-6, b.abs().max().item<double>());
    return (a - b).abs().max().item<double>() / scale;
}
} // namespace

void TestFastConv::matchesTorchConv2d_data() {
    QTest::addColumn<int>("batch");
    QTest::addColumn<int>("in");
    QTest::addColumn<int>("out");
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("kernel");
    QTest::addColumn<int>("padding");
    QTest::newRow("CNN teacher, first layer") << 128 << 1 << 32 << 28 << 3 << 1;
    QTest::newRow("CNN teacher, second layer") << 128 << 32 << 64 << 14 << 3 << 1;
    QTest::newRow("last partial batch") << 37 << 32 << 64 << 14 << 3 << 1;
    QTest::newRow("one image") << 1 << 16 << 8 << 7 << 3 << 1;
    QTest::newRow("LeNet-5 first layer, 5x5 padded") << 16 << 1 << 6 << 28 << 5 << 2;
    QTest::newRow("LeNet-5 second layer, 5x5 unpadded") << 16 << 6 << 16 << 14 << 5 << 0;
    QTest::newRow("three channels, odd sizes") << 5 << 3 << 7 << 9 << 3 << 1;
}

void TestFastConv::matchesTorchConv2d() {
    QFETCH(int, batch);
    QFETCH(int, in);
    QFETCH(int, out);
    QFETCH(int, size);
    QFETCH(int, kernel);
    QFETCH(int, padding);
    torch::manual_seed(11);
    kd::FastConv2d layer(torch::nn::Conv2dOptions(in, out, kernel).padding(padding));
    torch::Tensor x = torch::randn({batch, in, size, size}).requires_grad_(true);
    torch::Tensor y = layer->forward(x);
    torch::Tensor upstream = torch::randn(y.sizes());
    (y * upstream).sum().backward();

    torch::Tensor x2 = x.detach().clone().requires_grad_(true);
    torch::Tensor w2 = layer->weight.detach().clone().requires_grad_(true);
    torch::Tensor b2 = layer->bias.detach().clone().requires_grad_(true);
    torch::Tensor y2 = torch::conv2d(x2, w2, b2, /*stride=*/1, /*padding=*/padding);
    (y2 * upstream).sum().backward();

    QCOMPARE(y.sizes().vec(), y2.sizes().vec());
    QVERIFY2(maxRelativeError(y, y2) < 1e-5, "forward differs from torch::conv2d");
    QVERIFY2(maxRelativeError(x.grad(), x2.grad()) < 1e-5, "input gradient differs");
    QVERIFY2(maxRelativeError(layer->weight.grad(), w2.grad()) < 1e-5, "weight gradient differs");
    QVERIFY2(maxRelativeError(layer->bias.grad(), b2.grad()) < 1e-5, "bias gradient differs");
    // The gradients land in LibTorch's own layout, ready for the optimizer.
    QVERIFY(layer->weight.grad().is_contiguous());
    QCOMPARE(layer->weight.grad().sizes().vec(), layer->weight.sizes().vec());
}

// Teacher logits and test accuracy run under NoGradGuard: the inference kernels, the same numbers.
void TestFastConv::evaluationWithoutGrad() {
    torch::manual_seed(3);
    kd::FastConv2d layer(torch::nn::Conv2dOptions(32, 64, 3).padding(1));
    const torch::Tensor x = torch::randn({50, 32, 14, 14});
    torch::Tensor y;
    {
        torch::NoGradGuard noGrad;
        y = layer->forward(x);
        QVERIFY(!y.requires_grad());
    }
    const torch::Tensor expected = torch::conv2d(x, layer->weight.detach(), layer->bias.detach(), 1, 1);
    QVERIFY2(maxRelativeError(y, expected) < 1e-5, "evaluation differs from torch::conv2d");
    QVERIFY(y.is_contiguous(torch::MemoryFormat::ChannelsLast) == kd::fastConvUsesOneDnn());
}

// The first layer's input is the images: no gradient for them, yet the weights get theirs.
void TestFastConv::imagesGetNoGradient() {
    torch::manual_seed(5);
    kd::FastConv2d layer(torch::nn::Conv2dOptions(1, 32, 3).padding(1));
    const torch::Tensor images = torch::rand({8, 1, 28, 28});
    layer->forward(images).relu().sum().backward();
    QVERIFY(!images.grad().defined());
    QVERIFY(layer->weight.grad().defined());
    QVERIFY(layer->weight.grad().abs().sum().item<double>() > 0);
}

// Options kdlab's models never use (stride 2, no bias) go to torch::conv2d, with the same results.
void TestFastConv::unsupportedOptionsFallBack() {
    torch::manual_seed(9);
    kd::FastConv2d strided(torch::nn::Conv2dOptions(4, 6, 3).stride(2).padding(1));
    kd::FastConv2d noBias(torch::nn::Conv2dOptions(4, 6, 3).padding(1).bias(false));
    const torch::Tensor x = torch::randn({3, 4, 10, 10});
    const torch::Tensor a = strided->forward(x);
    QCOMPARE(a.sizes().vec(), (std::vector<std::int64_t>{3, 6, 5, 5}));
    QVERIFY(maxRelativeError(a, torch::conv2d(x, strided->weight, strided->bias, 2, 1)) < 1e-6);
    const torch::Tensor b = noBias->forward(x);
    QVERIFY(maxRelativeError(b, torch::conv2d(x, noBias->weight, {}, 1, 1)) < 1e-6);
}

// The app trains on one thread while a sweep trains on another: the same primitives at once.
void TestFastConv::concurrentLayersAgree() {
    torch::manual_seed(13);
    kd::FastConv2d layer(torch::nn::Conv2dOptions(32, 64, 3).padding(1));
    const torch::Tensor x = torch::randn({64, 32, 14, 14});
    const torch::Tensor expected = torch::conv2d(x, layer->weight.detach(), layer->bias.detach(), 1, 1);
    std::vector<torch::Tensor> results(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5; ++i) {
                torch::Tensor xi = x.clone().requires_grad_(true);
                results[std::size_t(t)] = layer->forward(xi).detach();
                layer->forward(xi).sum().backward();
            }
        });
    for (std::thread& t : threads)
        t.join();
    for (const torch::Tensor& r : results)
        QVERIFY2(maxRelativeError(r, expected) < 1e-5, "a concurrent forward differs");
}

void TestFastConv::poolMatchesTorchMaxPool2d_data() {
    QTest::addColumn<int>("batch");
    QTest::addColumn<int>("channels");
    QTest::addColumn<int>("size");
    QTest::newRow("CNN teacher, first pooling") << 128 << 32 << 28;
    QTest::newRow("CNN teacher, second pooling") << 128 << 64 << 14;
    QTest::newRow("odd size: the last row and column dropped") << 3 << 5 << 7;
    QTest::newRow("one image, one channel") << 1 << 1 << 2;
}

void TestFastConv::poolMatchesTorchMaxPool2d() {
    QFETCH(int, batch);
    QFETCH(int, channels);
    QFETCH(int, size);
    torch::manual_seed(17);
    kd::FastMaxPool2d pool(torch::nn::MaxPool2dOptions(2));
    torch::Tensor x = torch::randn({batch, channels, size, size}).requires_grad_(true);
    torch::Tensor y = pool->forward(x);
    torch::Tensor upstream = torch::randn(y.sizes());
    (y * upstream).sum().backward();
    torch::Tensor x2 = x.detach().clone().requires_grad_(true);
    torch::Tensor y2 = torch::max_pool2d(x2, 2);
    (y2 * upstream).sum().backward();
    QCOMPARE(y.sizes().vec(), y2.sizes().vec());
    QVERIFY2(torch::equal(y, y2), "forward differs from torch::max_pool2d");
    QVERIFY2(torch::equal(x.grad(), x2.grad()), "input gradient differs");
    torch::NoGradGuard noGrad;
    QVERIFY2(torch::equal(pool->forward(x.detach()), y2), "evaluation differs");
}

// The CNNs pool before their ReLU (a quarter of the values to rectify): the same outputs and gradients as
// LibTorch's conv -> ReLU -> pool, also where a window holds only negative values.
void TestFastConv::poolThenReluEqualsReluThenPool() {
    torch::manual_seed(19);
    kd::FastConv2d conv(torch::nn::Conv2dOptions(3, 8, 3).padding(1));
    kd::FastMaxPool2d pool(torch::nn::MaxPool2dOptions(2));
    torch::Tensor x = torch::randn({16, 3, 12, 12}).requires_grad_(true);
    torch::Tensor y = torch::relu(pool->forward(conv->forward(x)));
    torch::Tensor upstream = torch::randn(y.sizes());
    (y * upstream).sum().backward();

    torch::Tensor x2 = x.detach().clone().requires_grad_(true);
    torch::Tensor w2 = conv->weight.detach().clone().requires_grad_(true);
    torch::Tensor b2 = conv->bias.detach().clone().requires_grad_(true);
    torch::Tensor y2 = torch::max_pool2d(torch::relu(torch::conv2d(x2, w2, b2, 1, 1)), 2);
    (y2 * upstream).sum().backward();
    QVERIFY(y.eq(0).sum().item<std::int64_t>() > 100); // windows with nothing positive
    QVERIFY2(maxRelativeError(y, y2) < 1e-5, "outputs differ");
    QVERIFY2(maxRelativeError(x.grad(), x2.grad()) < 1e-5, "input gradient differs");
    QVERIFY2(maxRelativeError(conv->weight.grad(), w2.grad()) < 1e-5, "weight gradient differs");
    QVERIFY2(maxRelativeError(conv->bias.grad(), b2.grad()) < 1e-5, "bias gradient differs");
}

QTEST_GUILESS_MAIN(TestFastConv)
#include "tst_fastconv.moc"
