"""Controllability instructions of a prompt, by rules: what the sound must do over time.

Each instruction has a kind, the span of the clip it applies to and the words it came from:
- loudness_up / loudness_down: a named sound grows louder, swells, builds, fades in / fades out, dies down, softens;
- tempo_up / tempo_down: a repeated sound or action accelerates, speeds up, goes faster / slows down;
- pitch_up / pitch_down: rises in pitch, sweeps upward, a rising tone, an ascending run / the reverse;
- count: N events ("plucks it four times", "twice", "five ascending notes"; N >= 2: "once" is left out, it is mostly
  "a single" in passing);
- stop: a named sound stops, cuts out, falls silent, "then silence";
- order: two named sound events joined by "then" / "followed by"; each is mapped to a sound class the signals can
  find (ORDER_CLASSES: speech, tonal, impact, noise, silence) by `sound_class`; a name that maps to none, or two names
  of one class, leave the order unchecked by signal.
Counts of "N times" after an action verb on a visible thing (VISUAL_ACTIONS: "plucks it four times", "knocks three
times") record the verb in `action`: their events are also counted in the picture.
A trend or stop cue counts only when a sound word stands close before it (SOUND_WORDS; "the crystal grows" is not
loudness), except cues that are about sound by themselves ("grows louder", "in pitch", "then silence").

Spans: the prompt is cut into time segments at "then", "followed by", "finally" and "Shot N:"; an instruction found
in segment k of n applies to [k/n, (k+1)/n] of the clip, or to the whole clip when there is one segment. Counts and
orders always apply to the whole clip. Deterministic; bump RULES_VERSION whenever a pattern changes.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

RULES_VERSION = "ctrl-rules-3"  # 2: "then cuts out / goes quiet" are stops; 3: order sounds of speech, instruments
# and noise, silence first, up to 4 words between "followed by" and the second sound; sound classes; the action verb
# of a visible count

KINDS = ("loudness_up", "loudness_down", "tempo_up", "tempo_down", "pitch_up", "pitch_down", "count", "stop", "order")

# ---- configuration: words (regex fragments, matched case-insensitively on whole words) ----

SOUND_WORDS = [
    r"sounds?", r"noises?", r"audio", r"music", r"soundtrack", r"melody", r"chords?", r"tones?", r"notes?", r"hum",
    r"humming", r"drone", r"buzz(?:ing)?", r"whir(?:r|ring)?", r"whin(?:e|es|ing)", r"hiss(?:ing)?", r"sizzl(?:e|ing)",
    r"fizz(?:ing)?", r"crackl(?:e|es|ing)", r"purr(?:ing)?", r"roar(?:ing)?", r"rumbl(?:e|ing)", r"growl(?:ing)?",
    r"revs?", r"engines?", r"sirens?", r"alarms?", r"beep(?:s|ing)?", r"tick(?:s|ing)", r"clicks?", r"clicking",
    r"taps?", r"tapping", r"knock(?:s|ing)?", r"drum(?:s|ming|beat)?", r"heartbeat", r"rain", r"wind", r"applause",
    r"cheer(?:s|ing)?", r"crowd", r"choir", r"chant(?:s|ing)?", r"laughter", r"voices?", r"whistl(?:e|es|ing)",
    r"jingle", r"ring(?:s|ing)?", r"squeal(?:s|ing)?", r"whoosh", r"rattl(?:e|es|ing)", r"chatter(?:ing)?",
    r"croak(?:s|ing)?", r"howl(?:s|ing)?", r"song", r"singing", r"strings?", r"synth", r"scrap(?:e|es|ing)",
    r"grinding", r"thump(?:s|ing)?", r"pounding", r"footsteps", r"bubbling", r"trickl(?:e|ing)", r"patter(?:ing)?",
    r"thunder", r"waves", r"frying", r"sizzling", r"squeaks?", r"rhythm", r"beats?", r"tempo", r"pace", r"typing", r"chewing", r"strumming",
    r"plucking", r"layer", r"swells?", r"stings?", r"feedback", r"echo(?:es)?", r"bells?", r"chimes?", r"piano",
    r"guitar", r"violin", r"cymbals?", r"gong", r"motor", r"fan", r"static", r"radio", r"crack", r"crunch",
    r"splash", r"thud", r"slam", r"clink", r"bang", r"boom", r"snap", r"squish(?:es|ing)?", r"squelch(?:ing)?",
    r"clatter", r"clank", r"clang", r"clunk",
]
LOUDNESS_UP = [
    r"(?:grows?|grew|growing|gets?|getting|becomes?|becoming|swells?|swelling|rises?|rising)\s+louder",
    r"louder\s+and\s+louder", r"crescendos?", r"swell(?:s|ing)?(?!\s+and\s+(?:dips?|falls?|fades?))",
    r"builds?(?!\s+(?:a|an|the|suspense|tension)\b)", r"building(?!\s+(?:a|an|the|suspense|tension)\b)",
    r"intensif(?:y|ies|ying)", r"fades?\s+in", r"fading\s+in", r"ramps?\s+up", r"grows?(?!\s+(?:in\s+pitch|quieter|softer|fainter))",
    r"growing(?!\s+(?:quieter|softer|fainter))",
    r"rises?(?!\s+(?:smoothly\s+)?in\s+pitch|\s+and\s+falls?)", r"rising(?!\s+(?:and|in\s+pitch))", r"increases", r"louder",
]
LOUDNESS_UP_ALONE = [  # about loudness without a sound word before them
    r"(?:grows?|grew|growing|gets?|getting|becomes?|becoming)\s+louder", r"louder\s+and\s+louder", r"crescendos?",
]
LOUDNESS_DOWN = [
    r"(?:grows?|grew|growing|gets?|getting|becomes?|becoming|turns?)\s+(?:quieter|softer)", r"quieter\s+and\s+quieter",
    r"decrescendo", r"diminuendo", r"fades?(?:\s+(?:out|away))?(?!\s+in)", r"fading(?:\s+(?:out|away))?(?!\s+in)",
    r"dies?\s+(?:down|away)", r"dying\s+(?:down|away)", r"softens", r"trails?\s+off", r"recedes", r"winds?\s+down",
]
LOUDNESS_DOWN_ALONE = [
    r"(?:grows?|grew|growing|gets?|getting|becomes?|becoming)\s+(?:quieter|softer)", r"quieter\s+and\s+quieter",
    r"decrescendo", r"diminuendo",
]
TEMPO_UP = [
    r"accelerat(?:e|es|ing)", r"speeds?\s+up", r"speeding\s+up", r"faster(?:\s+and\s+faster)?", r"quickens?",
    r"picks?\s+up\s+(?:the\s+)?(?:pace|tempo|speed)",
]
TEMPO_UP_ALONE = [r"faster\s+and\s+faster", r"speed\s+increases", r"then\s+accelerat(?:e|es|ing)", r"tempo\s+(?:increases|rises)"]
TEMPO_DOWN = [r"slows?(?:\s+down)?", r"slowing(?:\s+down)?", r"slower(?:\s+and\s+slower)?", r"decelerat(?:e|es|ing)"]
TEMPO_DOWN_ALONE = [r"slower\s+and\s+slower", r"then\s+slow(?:s|ing)\s+down", r"tempo\s+(?:decreases|drops)"]
PITCH_UP = [  # about pitch by themselves
    r"rises?\s+(?:smoothly\s+)?in\s+pitch", r"(?:pitch|tone)\s+(?:rises?|rising|climbs|goes\s+up)",
    r"(?:sweeps?|glides?|slides?|bends?)\s+(?:smoothly\s+)?(?:upward|up)\s+in\s+pitch",
    r"(?:sweeps?|glides?|slides?)\s+(?:smoothly\s+)?up(?:ward)?\s+in\s+pitch", r"up\s+in\s+pitch",
    r"rising\s+(?:tone|pitch|whistle|siren|note)", r"ascending\s+(?:\w+\s+)?(?:scale|melody|notes|run|arpeggio|tones?)",
    r"\d-note\s+ascending", r"from\s+low(?:est)?\s+to\s+high(?:est)?", r"cascades?\s+upward",
]
PITCH_DOWN = [
    r"(?:falls?|drops?)\s+in\s+pitch", r"(?:pitch|tone)\s+(?:falls|drops|lowers|goes\s+down)",
    r"(?:sweeps?|glides?|slides?)\s+(?:smoothly\s+)?down(?:ward)?\s+in\s+pitch", r"down\s+in\s+pitch",
    r"falling\s+(?:tone|pitch|whistle|note)", r"descending\s+(?:\w+\s+)?(?:scale|melody|notes|run|arpeggio|tones?)",
    r"from\s+high(?:est)?\s+to\s+low(?:est)?", r"cascades?\s+downward",
]
STOP = [  # after a sound word
    r"stops?(?!\s+(?:moving|walking|running))", r"cuts?\s+out", r"cuts?\s+off", r"drops?\s+out", r"falls?\s+silent",
    r"goes\s+(?:silent|quiet)", r"falls?\s+quiet", r"dies\s+out", r"ceases?",
]
ABRUPT_CUT = r"(?:abruptly\s+|suddenly\s+)?(?:cuts|stops|dies)(?![\w-])"  # "then the music abruptly cuts"
STOP_ALONE = [
    r"then\s+(?:\w+\s+){0,2}?silence", r"(?:snaps?|settles?|settle|fades?|cuts?)\s+(?:\w+\s+){0,5}?(?:in)?to\s+silence",
    r"(?:a|one)\s+beat\s+of\s+silence", r"falls?\s+silent", r"(?:leaving|leaves)\s+(?:an?\s+)?(?:\w+\s+)?(?:quiet|silence)",
    r"then\s+stops?(?=[\s,.;])(?!\s+(?:moving|walking|running))", r"then\s+fall\s+quiet", r"silence\s+it",
    r"then\s+(?:cuts?|drops?)\s+(?:out|off)", r"then\s+(?:goes|falls?)\s+(?:silent|quiet)",
    r"drops?\s+out\s+for\s+a\s+beat", r"sound\s+off\s+instantly", r"then\s+the\s+\w+\s+" + ABRUPT_CUT,
]
COUNT_WORDS = {"twice": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10}
EVENT_NOUNS = [
    r"knocks", r"beeps", r"claps", r"taps", r"strikes", r"hits", r"chimes", r"rings", r"gunshots", r"notes",
    r"bangs", r"barks", r"honks", r"clicks", r"thuds", r"dings", r"blasts", r"booms", r"pops", r"pings",
    r"plucks", r"strums", r"bongs", r"tolls",
]
# Sound events an order instruction may name (nouns only: "then the player taps" is no sound event), and the class
# of sound each maps to: the classes the signals can find (control_signals.sound_classes). A name in no class is
# recorded and left unchecked by signal.
ORDER_CLASSES: dict[str, list[str]] = {
    "speech": [r"speaks?", r"says", r"speaking", r"speech", r"voices?", r"narrator", r"narration", r"announcer",
               r"dialogue", r"whispers?", r"shouts?", r"yells?"],
    "tonal": [r"music", r"melody", r"piano", r"guitar", r"violin", r"cello", r"flute", r"trumpet", r"saxophone",
              r"organ", r"synth", r"chimes?", r"dings?", r"beeps?", r"whistles?", r"tones?", r"notes?", r"chords?",
              r"bells?", r"hum"],
    "impact": [r"cracks?", r"crunch(?:es)?", r"thuds?", r"slams?", r"clinks?", r"bangs?", r"booms?", r"snaps?",
               r"clanks?", r"clangs?", r"clunks?", r"thumps?", r"clicks?", r"gunshots?", r"explosions?", r"knocks?",
               r"stings?", r"splash(?:es)?", r"clatter"],
    "noise": [r"buzz(?:ing)?", r"hiss(?:ing)?", r"sizzl(?:e|ing)", r"roars?", r"rumbles?", r"whoosh", r"applause",
              r"static", r"crackling", r"scratching", r"squish(?:es|ing)?", r"squelch(?:es|ing)?", r"rain",
              r"wind", r"white\s+noise"],
    "silence": [r"silence"],
}
UNCLASSED_SOUNDS = [r"laughter", r"screams?", r"squeals?", r"screech(?:es)?"]  # named, but no class fits
ORDER_SOUNDS = [w for words in ORDER_CLASSES.values() for w in words] + UNCLASSED_SOUNDS
FIRST_ONLY = ("silence",)  # "then silence" is a stop (STOP_ALONE), not an order; "silence, then a bell" is one
# Verbs of a visible action whose "N times" can be counted in the picture too.
VISUAL_ACTIONS = [
    r"plays(?=\s+(?:the\s+|a\s+)?(?:same\s+)?(?:key|string|bar|pad|drum|bell)(?![\w-]))", r"pluck(?:s|ed|ing)?", r"knock(?:s|ed|ing)?", r"taps?", r"tapp(?:ed|ing)", r"strikes?", r"struck", r"striking",
    r"hits?", r"hitting", r"claps?", r"clapp(?:ed|ing)", r"strums?", r"strumm(?:ed|ing)", r"bounc(?:e|es|ed|ing)",
    r"jumps?", r"stomps?", r"kicks?", r"hammers?", r"chops?", r"slams?", r"bangs?", r"flash(?:es)?", r"blinks?",
    r"nods?", r"press(?:es|ed|ing)?", r"punch(?:es|ed)?", r"stamps?", r"rings?", r"swings?", r"waves?", r"drops?",
]
ACTION_REACH = 8  # the action verb stands at most this many words before "N times"
SEGMENT_BREAKS = [r"then", r"followed\s+by", r"finally", r"shot\s+\d+\s*:", r"after\s+a\s+(?:brief\s+)?(?:beat|pause)"]
NEAR_WORDS = 5  # a cue needs a sound word at most this many words before it
GAP_STOPS = r"as|while|when|where|until|but|because|whereas|then|to"  # words that end a sound word's reach

Kind = Literal["loudness_up", "loudness_down", "tempo_up", "tempo_down", "pitch_up", "pitch_down", "count", "stop",
               "order"]


class Instruction(BaseModel):
    """One time-varying requirement on the sound; `span` is (start, end) as fractions of the clip."""

    kind: Kind
    span: tuple[float, float] = (0.0, 1.0)
    words: str  # the words it came from
    count: int | None = None  # kind "count"
    sound: str = ""  # the named sound, where one is named
    second: str = ""  # kind "order": the sound that must come after `sound`
    action: str = ""  # kind "count": the visible action verb the count is tied to ("plucks"), else ""


def _alt(patterns: list[str]) -> str:
    return r"(?<![\w-])(?:" + "|".join(patterns) + r")(?![\w-])"


_NEAR = (r"(?P<sound>" + _alt(SOUND_WORDS) + r")(?:[\s,'’-]+(?!(?:" + GAP_STOPS + r")(?![\w-]))[\w'’-]+){0,"
         + str(NEAR_WORDS) + r"}?[\s,]+")
_BREAKS = re.compile(_alt(SEGMENT_BREAKS), re.I)
_COUNT_TIMES = re.compile(
    r"(?<![\w-])(?:(?P<n>" + "|".join(k for k in COUNT_WORDS if k != "twice") + r"|\d{1,2})\s+times|(?P<twice>twice))(?![\w-])",
    re.I)
_COUNT_NOUNS = re.compile(
    r"(?<![\w-])(?P<n>" + "|".join(k for k in COUNT_WORDS if k != "twice") + r"|\d{1,2})(?:\s+|-)(?:[a-z]+\s+){0,2}?"
    r"(?P<noun>" + "|".join(EVENT_NOUNS) + r"|note)(?![\w-])(?!\s+(?:power\s+)?chord)", re.I)
_COUNT_SERIES = re.compile(  # "plucks the six open strings one by one", "strike three bars one at a time"
    r"(?<![\w-])(?P<n>" + "|".join(k for k in COUNT_WORDS if k != "twice") + r"|\d{1,2})\s+(?:[a-z-]+\s+){0,2}?"
    r"(?P<noun>[a-z]+s)\s+one\s+(?:by\s+one|at\s+a\s+time)(?![\w-])", re.I)
_ORDER = re.compile(r"(?P<a>" + _alt(ORDER_SOUNDS) + r")['’]?(?:[\s,'’]+[\w'’-]+){0,4}?[\s,]+"
                    r"(?:then|followed\s+by|transitioning\s+to)\s+(?:(?:a|an|the)\s+)?(?:[\w,'’-]+\s+){0,4}?"
                    r"['‘]?(?P<b>" + _alt(ORDER_SOUNDS) + r")(?!\s+" + ABRUPT_CUT + ")", re.I)

_CLASSES = [(name, re.compile(r"^(?:" + "|".join(words) + r")$", re.I)) for name, words in ORDER_CLASSES.items()]
_FIRST_ONLY = re.compile(r"^(?:" + "|".join(w for c in FIRST_ONLY for w in ORDER_CLASSES[c]) + r")$", re.I)
_ACTION = re.compile(_alt(VISUAL_ACTIONS), re.I)

_RULES: list[tuple[str, re.Pattern[str], bool]] = []  # (kind, pattern, needs a sound word before)
for _kind, _near, _alone in (("pitch_up", [], PITCH_UP), ("pitch_down", [], PITCH_DOWN),  # pitch first: see extract
                             ("loudness_up", LOUDNESS_UP, LOUDNESS_UP_ALONE),
                             ("loudness_down", LOUDNESS_DOWN, LOUDNESS_DOWN_ALONE),
                             ("tempo_up", TEMPO_UP, TEMPO_UP_ALONE), ("tempo_down", TEMPO_DOWN, TEMPO_DOWN_ALONE),
                             ("stop", STOP, STOP_ALONE)):
    if _alone:
        _RULES.append((_kind, re.compile(_alt(_alone), re.I), False))
    if _near:
        _RULES.append((_kind, re.compile(_NEAR + r"(?P<cue>" + _alt(_near) + r")", re.I), True))


def segments(prompt: str) -> list[tuple[int, int]]:
    """Character ranges of the prompt's time segments (cut at 'then', 'followed by', 'finally', 'Shot N:')."""
    cuts = [0] + [m.start() for m in _BREAKS.finditer(prompt) if m.start() > 0] + [len(prompt)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _span(pos: int, parts: list[tuple[int, int]]) -> tuple[float, float]:
    if len(parts) <= 1:
        return (0.0, 1.0)
    k = next((i for i, (a, b) in enumerate(parts) if a <= pos < b), len(parts) - 1)
    return (round(k / len(parts), 4), round((k + 1) / len(parts), 4))


def _count_value(word: str) -> int:
    return int(word) if word.isdigit() else COUNT_WORDS[word.lower()]


def sound_class(name: str) -> str | None:
    """The class of sound (ORDER_CLASSES) a named sound maps to; None when it maps to none."""
    name = " ".join(name.lower().split())
    return next((cls for cls, pattern in _CLASSES if pattern.match(name)), None)


def _action_before(prompt: str, start: int) -> str:
    """The visible action verb (VISUAL_ACTIONS) at most ACTION_REACH words before `start` in the same sentence."""
    before = re.split(r"[.;:!?]", prompt[:start])[-1]
    window = " ".join(before.split()[-ACTION_REACH:])
    found = list(_ACTION.finditer(window))
    return found[-1].group(0).lower() if found else ""


def _clean(text: str) -> str:
    return " ".join(text.split())


def extract(prompt: str) -> list[Instruction]:
    """Every instruction of the prompt, in text order; at most one per kind and time segment."""
    parts = segments(prompt)
    found: list[tuple[int, Instruction]] = []
    taken: set[tuple[str, tuple[float, float]]] = set()
    stop_cues: list[tuple[int, int]] = []
    pitch_cues: list[tuple[int, int]] = []  # a cue read as pitch is not read as loudness too ("a tone rise")
    for kind, pattern, near in _RULES:
        for m in pattern.finditer(prompt):
            cue_start = m.start("cue") if near else m.start()
            if kind.startswith("pitch"):
                pitch_cues.append((m.start(), m.end()))
            elif kind.startswith("loudness") and any(a <= cue_start < b for a, b in pitch_cues):
                continue
            if kind == "stop":
                if any(a <= cue_start < b for a, b in stop_cues):
                    continue
                stop_cues.append((m.start(), m.end()))
            span = _span(cue_start, parts)
            if (kind, span) in taken:
                continue
            taken.add((kind, span))
            sound = m.group("sound") if near else ""
            found.append((m.start(), Instruction(kind=kind, span=span, words=_clean(m.group(0)), sound=sound.lower())))
    counted: set[int] = set()
    for pattern in (_COUNT_TIMES, _COUNT_SERIES, _COUNT_NOUNS):
        for m in pattern.finditer(prompt):
            if any(abs(m.start() - c) < 30 for c in counted):
                continue
            counted.add(m.start())
            n = 2 if m.groupdict().get("twice") else _count_value(m.group("n"))
            noun = m.groupdict().get("noun") or ""
            action = _action_before(prompt, m.start()) if pattern is _COUNT_TIMES else ""
            found.append((m.start(), Instruction(kind="count", words=_clean(m.group(0)), count=n, sound=noun.lower(),
                                                 action=action)))
    for m in _ORDER.finditer(prompt):
        if m.group("a").lower() != m.group("b").lower() and not _FIRST_ONLY.match(m.group("b")):
            found.append((m.start(), Instruction(kind="order", words=_clean(m.group(0)), sound=m.group("a").lower(),
                                                 second=m.group("b").lower())))
    return [ins for _, ins in sorted(found, key=lambda p: p[0])]


def frozen(prompt: str) -> dict:
    """The structure `annotate` may freeze (PromptAnnotation.judge['ctrl']): the rules' version and instructions."""
    return {"version": RULES_VERSION, "source": "rules", "instructions": [i.model_dump(mode="json") for i in extract(prompt)]}


def instructions_of(prompt: str, judge_stages: dict | None = None) -> tuple[list[Instruction], str]:
    """Frozen instructions when the annotation carries them (judge_stages['ctrl']), else the rules' own; with where
    they came from."""
    stored = (judge_stages or {}).get("ctrl")
    if isinstance(stored, dict) and isinstance(stored.get("instructions"), list):
        label = f"frozen:{stored.get('source', '?')}:{stored.get('version', '?')}"
        return [Instruction.model_validate(i) for i in stored["instructions"]], label
    return extract(prompt), f"rules:{RULES_VERSION}"
