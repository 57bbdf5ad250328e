// The oneDNN linear layer against torch::linear: forward and all three gradients. This suite includes
// LibTorch (internal header), so torch comes before any Qt header.
#include "fastlinear.h"

#include <QtTest>

class TestFastLinear : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void matchesTorchLinear_data();
    void matchesTorchLinear();
    void nonContiguousInputFallsBack();
    void evaluationWithoutGrad();
    void inPlaceReluAfterLayerKeepsGradients();
};

namespace {
double maxRelativeError(const torch::Tensor& a, const torch::Tensor& b) {
    const double scale = std::max(1e-6, b.abs().max().item<double>());
    return (a - b).abs().max().item<double>() / scale;
}
} // namespace

void TestFastLinear::matchesTorchLinear_data() {
    QTest::addColumn<int>("batch");
    QTest::addColumn<int>("in");
    QTest::addColumn<int>("out");
    QTest::newRow("one image, first hinton-student layer") << 1 << 784 << 800;
    QTest::newRow("batch 128, hidden 800x800") << 128 << 800 << 800;
    QTest::newRow("last partial batch, head") << 37 << 128 << 10;
    QTest::newRow("tiny odd shape") << 3 << 5 << 7;
}

void TestFastLinear::matchesTorchLinear() {
    QFETCH(int, batch);
    QFETCH(int, in);
    QFETCH(int, out);
    torch::manual_seed(7);
    kd::FastLinear layer(in, out);
    torch::Tensor x = torch::randn({batch, in}).requires_grad_(true);
    torch::Tensor upstream = torch::randn({batch, out});

    const torch::Tensor biasBefore = layer->bias.detach().clone();
    torch::Tensor y = layer->forward(x);
    QVERIFY2(torch::equal(layer->bias.detach(), biasBefore), "forward changed the bias");
    (y * upstream).sum().backward();
    const torch::Tensor gx = x.grad().clone(), gw = layer->weight.grad().clone(),
                        gb = layer->bias.grad().clone();

    torch::Tensor x2 = x.detach().clone().requires_grad_(true);
    torch::Tensor w2 = layer->weight.detach().clone().requires_grad_(true);
    torch::Tensor b2 = layer->bias.detach().clone().requires_grad_(true);
    torch::Tensor y2 = torch::nn::functional::linear(x2, w2, b2);
    (y2 * upstream).sum().backward();

    QCOMPARE(y.sizes().vec(), y2.sizes().vec());
    QVERIFY2(maxRelativeError(y, y2) < 1e-5, "forward differs from torch::linear");
    QVERIFY2(maxRelativeError(gx, x2.grad()) < 1e-5, "input gradient differs");
    QVERIFY2(maxRelativeError(gw, w2.grad()) < 1e-5, "weight gradient differs");
    QVERIFY2(maxRelativeError(gb, b2.grad()) < 1e-5, "bias gradient differs");
}

void TestFastLinear::nonContiguousInputFallsBack() {
    torch::manual_seed(3);
    kd::FastLinear layer(6, 4);
    const torch::Tensor x = torch::randn({6, 5}).t(); // [5, 6], not contiguous
    QVERIFY(!x.is_contiguous());
    const torch::Tensor expected = torch::nn::functional::linear(x, layer->weight, layer->bias);
    QVERIFY(maxRelativeError(kd::fastLinear(x, layer->weight, layer->bias), expected) < 1e-5);
    QVERIFY(maxRelativeError(layer->forward(x), expected) < 1e-5);
}

void TestFastLinear::evaluationWithoutGrad() {
    torch::manual_seed(5);
    kd::FastLinear layer(20, 3);
    const torch::Tensor x = torch::randn({9, 20});
    torch::Tensor y;
    {
        torch::NoGradGuard noGrad;
        y = layer->forward(x);
    }
    QVERIFY(!y.requires_grad());
    QVERIFY(maxRelativeError(y, torch::nn::functional::linear(x, layer->weight, layer->bias).detach()) <
            1e-5);
}

// The MLPs apply ReLU in place on each layer's output: autograd must still see the right gradient.
void TestFastLinear::inPlaceReluAfterLayerKeepsGradients() {
    torch::manual_seed(11);
    kd::FastLinear first(10, 16), second(16, 4);
    const torch::Tensor x = torch::randn({8, 10});
    torch::Tensor h = first->forward(x);
    h.relu_();
    second->forward(h).pow(2).sum().backward();
    const torch::Tensor g1 = first->weight.grad().clone();

    torch::Tensor w1 = first->weight.detach().clone().requires_grad_(true);
    torch::Tensor h2 = torch::relu(torch::nn::functional::linear(x, w1, first->bias.detach()));
    torch::nn::functional::linear(h2, second->weight.detach(), second->bias.detach()).pow(2).sum().backward();
    QVERIFY(maxRelativeError(g1, w1.grad()) < 1e-5);
}

QTEST_GUILESS_MAIN(TestFastLinear)
#include "tst_fastlinear.moc"
