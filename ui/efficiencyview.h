#pragma once
// Why distil: the teacher and the distilled student side by side in size, compute, speed and accuracy, with
// the student's ratio to the teacher in words ("27.7x fewer", "12.0x faster", "-1.2 points").

#include "kdcore/trainer.h"

#include "viewparts.h"

class QLabel;
class QStackedWidget;
class QTableWidget;

namespace kdui {

class EfficiencyView : public TeachingView {
    Q_OBJECT
public:
    // Table rows and columns.
    enum Row { Parameters, Size, Flops, Latency, Throughput, Accuracy, RowCount };
    enum Column { TeacherColumn, StudentColumn, RatioColumn, ColumnCount };

    explicit EfficiencyView(QWidget* parent = nullptr);

    // A result where neither model has a spec or a parameter count (nothing known yet) shows the placeholder.
    void setResult(const kd::ExperimentResult& result);
    void clear(); // back to the placeholder
    bool hasResult() const { return m_hasResult; }

    QString summary() const; // the sentence under the table ("Compared with the teacher, the distilled ...")

    // The table's text (row: Row, column: Column); empty out of range or while the placeholder shows.
    QString cellText(int row, int column) const;
    QTableWidget* table() const { return m_table; }

    // Formatting, shared with the tests: "1.2 M", "4.8 MB", "0.45 ms", "12,300 images/s", "89.4%".
    static QString countText(double value);
    static QString bytesText(double bytes);
    static QString latencyText(double ms);
    static QString throughputText(double imagesPerSecond);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void setCell(int row, int column, const QString& text, const QString& toolTip = QString());
    static QString defaultExplanation();
    static QString defaultPlaceholder();

    void setHeaders(const QStringList& headers);
    void fitHeaders(); // each column's header in as many lines as its width needs

    bool m_hasResult = false;
    QStringList m_headers; // the column headers with only their own line breaks
    QTableWidget* m_table;
    QLabel* m_summary;
};

} // namespace kdui
