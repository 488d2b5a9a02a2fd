#pragma once
// METEOR 1.5 and SPICE 1.0 through their official jars, speaking the protocols that
// pycocoevalcap uses, when the user has the jars and Java. Otherwise the score is
// reported as unavailable with the reason, never skipped silently or approximated.
//   METEOR: `java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm`; one
//     "SCORE ||| ref1 ||| ... ||| hyp" line per image answered by a statistics line, then
//     "EVAL ||| stats1 ||| ..." answered by each image's score and the corpus score.
//     Every exchange has a time limit, and a stall or crash names the image and caption
//     that caused it (pycocoevalcap's bridge can hang for hours instead).
//   SPICE: `java -jar -Xmx8G spice-1.0.jar in.json -cache DIR -out out.json -subset -silent`;
//     the corpus score is the mean of the per-image "All" F-scores.
#include <string>
#include <vector>

#include "recap/metrics/text_metrics.h"

namespace recap::metrics {

struct JavaScorerOptions {
  std::string java = "java";  // executable, looked up on PATH
  std::string jar;
  double timeout_seconds = 120;  // per exchange (METEOR) or whole run (SPICE, plus 0.5 s per image)
  std::string cache_dir;         // SPICE's parse cache (default: none)
};

struct JavaScore {
  bool available = false;
  std::string reason;  // why not, when unavailable
  CorpusScore score;
};

JavaScore meteor(const std::vector<ImageCaptions>& images, const std::vector<std::string>& image_names,
                 const JavaScorerOptions& options);
JavaScore spice(const std::vector<ImageCaptions>& images, const std::vector<std::string>& image_names,
                const JavaScorerOptions& options);

}  // namespace recap::metrics
