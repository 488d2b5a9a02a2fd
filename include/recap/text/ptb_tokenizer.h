#pragma once
// Caption tokenisation as pycocoevalcap does it before scoring: Stanford CoreNLP's
// PTBTokenizer with -preserveLines -lowerCase (one caption per line), then removal of
// the punctuation tokens  '' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;
//
// A port of the PTB rules that matter for captions (no Java needed). Rules, each
// covered by a test with the Stanford output written out by hand:
//   lower-casing         Unicode-aware (ICU), as Java's toLowerCase
//   whitespace           spaces, tabs, newlines and no-break spaces separate tokens
//   clitics              's 're 've 'll 'd 'm split off; n't split off (don't -> do n't,
//                        can't -> ca n't, won't -> wo n't); "cannot", "gonna" stay
//                        whole as in CoreNLP 3.4.1, the version pycocoevalcap ships
//   quotes               " -> `` (opening) / '' (closing); 'x -> ` x; x' -> x '
//                        Unicode quotes “ ” ‘ ’ „ are read as ASCII quotes
//   brackets             ( ) -> -LRB- -RRB-, { } -> -LCB- -RCB- (removed afterwards);
//                        [ ] -> -LSB- -RSB-, which pycocoevalcap does NOT remove
//   hyphens              hyphenated words and numbers stay whole (black-and-white, 1-2);
//                        a free-standing or edge hyphen is a token; -- and – — are "--"
//   numbers              3.5, 1,000 and 12:30 stay whole; $5 -> $ 5; 50% -> 50 %
//   periods              a final period is split off, except from abbreviations: letter-
//                        period sequences (u.s., a.m.) and the common titles (mr. mrs. ms.
//                        dr. st. jr. sr. vs. etc. inc. ltd. co. mt. no.)
//   ellipses             ... and … are tokens; other . , ; : ! ? inside a word are split off
//                        unless between digits (numbers) or, for periods, within an
//                        abbreviation or a dotted name (www.example.com stays whole)
// Known differences from Stanford: no handling of URLs with other punctuation, emoticons,
// SGML/XML tags or its British-English quote heuristics; & and / stay inside words.
#include <string>
#include <vector>

namespace recap::text {

// PTB tokens of one caption, before punctuation removal (lower-cased).
std::vector<std::string> ptb_tokens(const std::string& caption);

// pycocoevalcap's tokenised caption: PTB tokens minus its punctuation list, joined by
// single spaces. Throws std::invalid_argument on invalid UTF-8.
std::string ptb_tokenize(const std::string& caption);

}  // namespace recap::text
