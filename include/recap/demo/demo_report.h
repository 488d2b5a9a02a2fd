#pragma once
// The one table scripts/demo.sh prints, assembled from the files its tools wrote into the
// demo folder: recall.json (recap-score recall), scores/*.json (recap-score), runs/*/mapping.json
// (recap-fit: the time solving for W took), dal/dal.csv (recap-dal) and times.tsv (the script's stage
// times). A file that is missing leaves its section out with a line saying so.
#include <filesystem>
#include <string>

namespace recap::demo {

// The captioning variants of the demo, in the order of the table: (file stem under
// scores/, label).
struct DemoVariant {
  const char* stem;
  const char* label;
};
inline constexpr DemoVariant kDemoVariants[] = {
    {"random", "random training caption (floor)"},
    {"nearest", "nearest training caption by raw CLIP (W = I)"},
    {"retrieval-procrustes", "ReCap retrieval, W by Procrustes"},
    {"retrieval-ols", "ReCap retrieval, W by least squares"},
    {"retrieval-ridge", "ReCap retrieval, W by ridge"},
    {"lm", "ReCap with the language model"},
};

// Markdown. InputError naming the file for one that exists but cannot be read.
std::string demo_report(const std::filesystem::path& folder);

}  // namespace recap::demo
