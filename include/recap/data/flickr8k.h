#pragma once
// The Flickr8k human judgements (Hodosh et al. 2013) as clipscore's download.py prepares
// them for correlation studies:
//  - Expert (ExpertAnnotations.txt): each of the three expert scores (1-4) is its own
//    judgement; pairs whose caption is one of the image's own references are skipped
//    (following the SPICE paper); the references are the image's five captions.
//  - CrowdFlower (CrowdFlowerAnnotations.txt): the judgement is the fraction of "yes";
//    the references are the image's captions minus every caption judged for that image.
// Captions come from Flickr8k.token.txt ("<image>#<k>\t<caption>").
#include <filesystem>
#include <string>
#include <vector>

namespace recap::data {

struct Judgement {
  std::string image;  // file name, e.g. 1000268201_693b08cb0e.jpg
  std::string caption;
  double rating = 0;
  std::vector<std::string> references;
};

enum class Flickr8kSet { expert, crowdflower };

// `root` holds the text files directly or in Flickr8k_text/. InputError names a missing
// file or a malformed line.
std::vector<Judgement> read_flickr8k(const std::filesystem::path& root, Flickr8kSet set);

}  // namespace recap::data
