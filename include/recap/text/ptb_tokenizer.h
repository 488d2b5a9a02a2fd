#pragma once
// Caption tokenisation exactly as pycocoevalcap prepares text for BLEU/ROUGE/CIDEr/METEOR:
// Stanford CoreNLP 3.4.1 `PTBTokenizer -preserveLines -lowerCase` over all captions joined
// with newlines, then removal of pycocoevalcap's punctuation tokens. The rules ported, and
// every known difference from the Java lexer, are tabulated in src/text/ptb_tokenizer.cpp.
#include <string>
#include <string_view>
#include <vector>

namespace recap::text {

// The PTB tokens of `text` (Java lexer output, before lower-casing and filtering).
// `following` is the text after it in the same tokenizer run (the next caption): a few
// rules look ahead across the line break. Throws std::invalid_argument on invalid UTF-8.
std::vector<std::string> ptb_tokens(std::string_view text, std::string_view following = {});

// Lower-cases like Java's String.toLowerCase(Locale.ENGLISH).
std::string lowercase_english(std::string_view token);

// True for the tokens pycocoevalcap drops after tokenising: '' ' `` ` -LRB- -RRB- -LCB-
// -RCB- . ? ! , : - -- ... ;  (compared case-sensitively after lower-casing, so the
// bracket names never match and "-lrb-" survives, as in pycocoevalcap).
bool is_coco_punctuation(std::string_view token);

// One caption through the whole pycocoevalcap pipeline: tokens lower-cased, punctuation
// dropped, joined by single spaces. `following` as for ptb_tokens().
std::string coco_tokenize(std::string_view caption, std::string_view following = {});

// All captions of one tokenizer run (pycocoevalcap runs the references and the results
// separately), each caption seeing the next one as its right context. Runs on `threads`
// threads (0: all cores).
std::vector<std::string> coco_tokenize_all(const std::vector<std::string>& captions, int threads = 0);

}  // namespace recap::text
