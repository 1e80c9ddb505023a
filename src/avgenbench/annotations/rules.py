"""The rule annotator: per-prompt annotations (schema.py) from the prompt text alone, deterministic (lite tier).

Rule-based annotation (`annotate_rules`) reads only the prompt text and the suite's expected-faces labels:
- every quoted span ("…", “…”, '…', ‘…’) is classed as on-screen text, speech or neither by the cue nearest to it:
  a visible-text noun right after the quote ('Login' button, 'SOLD' sign) wins, else the closest cue before it in the
  same sentence ("text reads", "title card", "narrator says", "whispers"); quotes with no cue (sound words such as
  'crunch', scare quotes) are neither. Unquoted ALL-CAPS runs after "title"/"title card"/"text"... are text too.
- speech is required when a line is quoted as speech or the prompt names a speaking role or verb (SPEECH_CUES);
  "no dialogue"/"no voiceover" marks it forbidden.
- music constraints come only from explicit pitch names (A4, C–E–G, C major chord, C major scale from C4 to C6); a
  prompt without them gets none (music not applicable, as in the paper).
The pattern lists below are the configuration; bump RULES_VERSION (schema.py) whenever they change.
"""

from __future__ import annotations

import re
from typing import Any

from ..music_theory import PC_NAMES as SHARP_NAMES, spelled_midi, spelled_pitch_class
from ..suite import FaceRange, PromptItem, Suite
from .schema import RULES_VERSION, MusicConstraint, PromptAnnotation

# ---- configuration: cue patterns (regex fragments, matched case-insensitively on whole words) ----

# A noun right after a quote that makes the quote visible text: "'Login' button", "'SOLD' sign".
TEXT_NOUNS_AFTER = [
    r"text", r"texts", r"graphics?", r"signs?", r"buttons?", r"pop-?ups?", r"tape", r"banners?", r"labels?",
    r"logos?", r"captions?", r"overlays?", r"overlaid", r"stickers?", r"title cards?", r"titles?", r"headlines?",
    r"messages?", r"notifications?", r"lettering", r"subtitles?", r"slogan", r"tagline", r"appears on (?:the )?screen",
]
# Cues before a quote (same sentence) meaning the quote is visible text.
TEXT_CUES_BEFORE = [
    # first, so it wins over "sign": a visible thing that "says" is text ("the sign says 'STOP'"); it ends where
    # "says" ends, and text wins that tie
    r"(?:sign|screen|banner|card|label|caption|title|board|display|text|poster|t-shirt)\s+(?:says|said|shows|reads)",
    r"on-?screen text", r"text", r"texts", r"text overlays?", r"reads", r"reading", r"titled", r"title cards?",
    r"titles?", r"captions?", r"captioned", r"signs?", r"displaying", r"displays", r"logo", r"labels?", r"labell?ed",
    r"banners?", r"headlines?", r"lower thirds?", r"words?", r"letters", r"written", r"writing", r"writes", r"spelling",
    r"spelled", r"spells", r"slogan", r"tagline", r"stamped", r"printed", r"subtitles?", r"graphic", r"buttons?",
    r"chyron", r"ticker",
]
# Cues before a quote meaning the quote is spoken (or sung) words.
SPEECH_CUES_BEFORE = [
    r"says", r"said", r"say", r"saying", r"asks", r"asked", r"asking", r"whispers", r"whispered", r"whispering",
    r"murmurs", r"mutters", r"declares", r"announces", r"announcer", r"shouts", r"shouting", r"shouted", r"yells",
    r"yelling", r"calls", r"calling", r"cries", r"exclaims", r"replies", r"states", r"narrates", r"narrator",
    r"voice-?over", r"voices?", r"counts", r"chants", r"grunts",
    r"(?:sung|spoken|the|a) line", r"sings", r"singing", r"acknowledgements?", r"dialogue", r"intercom", r"comms",
    r"commentator", r"repeats", r"responds", r"sighs",
    r"speak", r"speaks", r"speaking", r"stating", r"continues", r"adds", r"explains", r"tells", r"remarks", r"answers",
    r"scolds", r"pleads", r"begs", r"insists", r"warns",
]
# A speaking verb right after a quote ('"Circuits choose conquest.", he explains') makes it speech.
SPEECH_VERBS_AFTER = [
    r"says", r"said", r"explains", r"adds", r"asks", r"replies", r"whispers", r"shouts", r"yells", r"continues",
    r"states", r"declares", r"exclaims", r"announces", r"answers", r"mutters", r"murmurs", r"cries", r"calls",
]
# Words that by themselves mean the prompt asks for speech (quoted spans are removed before matching).
SPEECH_CUES = [
    r"voice-?overs?", r"narrator", r"narration", r"narrates", r"dialogue", r"says", r"speaks", r"speaking",
    r"talks", r"talking", r"whispers", r"whispering", r"announces", r"announcing", r"announcer", r"explains",
    r"asks", r"declares", r"mutters", r"commentator", r"commentary", r"interview", r"conversation",
    r"discusses", r"discussing", r"reports on", r"reporting on", r"teleprompter",
    r"(?:anchor|reporter|host|presenter|narrator|announcer|pilot|teammate)(?:['’]s)? voice",
    r"(?:shouts|shouting|yells|yelling)\s+(?:\w+\s+){0,2}(?:about|into)",
    r"(?:trade|trades|exchange|exchanges|deliver|delivers)\s+(?:\w+\s+){0,2}lines",
]
# A sound noun right after a quote makes it a sound word, not text or speech: "a sarcastic 'ding' sting".
SOUND_NOUNS_AFTER = [
    r"sounds?", r"noises?", r"stings?", r"chimes?", r"tones?", r"effects?", r"scratch", r"sfx", r"rings?",
]
# Phrases saying the prompt wants no speech.
NO_SPEECH_CUES = [
    r"(?:no|without)\s+(?:\w+\s+){0,2}?(?:dialogue|speech|voice-?over|narration|talking|spoken words|vocals)",
]
# Unquoted ALL-CAPS text after these words is visible text: "the title card REDLINE PROTOCOL appears".
CAPS_TEXT_CUES = [r"title card", r"title", r"text", r"caption", r"sign", r"logo", r"banner", r"headline", r"words?"]

# ---- configuration: expected faces from the wording (used when the suite has no expected_faces file) ----

# People whose faces a prompt puts on screen: singular and plural nouns (roles included).
PERSON_NOUNS = {
    "man": "men", "woman": "women", "person": "people", "boy": "boys", "girl": "girls", "child": "children",
    "kid": "kids", "guy": "guys", "lady": "ladies", "gentleman": "gentlemen", "baby": "babies", "toddler": "toddlers",
    "teenager": "teenagers", "anchor": "anchors", "reporter": "reporters", "host": "hosts", "presenter": "presenters",
    "chef": "chefs", "cook": "cooks", "musician": "musicians", "guitarist": "guitarists", "pianist": "pianists",
    "drummer": "drummers", "singer": "singers", "violinist": "violinists", "dancer": "dancers", "worker": "workers",
    "scientist": "scientists", "teacher": "teachers", "student": "students", "customer": "customers",
    "soldier": "soldiers", "officer": "officers", "doctor": "doctors", "nurse": "nurses", "farmer": "farmers",
    "fighter": "fighters", "boxer": "boxers", "athlete": "athletes", "businessman": "businessmen",
    "businesswoman": "businesswomen", "priest": "priests", "clergyman": "clergymen", "bartender": "bartenders",
    "waiter": "waiters", "barista": "baristas", "mechanic": "mechanics", "coach": "coaches", "tourist": "tourists",
    "hiker": "hikers", "vlogger": "vloggers", "actor": "actors", "actress": "actresses", "detective": "detectives",
    "astronaut": "astronauts", "instructor": "instructors", "chemist": "chemists", "streamer": "streamers",
    "individual": "individuals", "speaker": "speakers", "interviewer": "interviewers", "friend": "friends",
    "human": "humans", "handler": "handlers", "demonstrator": "demonstrators", "golfer": "golfers",
    "rider": "riders", "skater": "skaters", "player": "players", "teammate": "teammates", "thief": "thieves",
    "commuter": "commuters", "teen": "teens", "attacker": "attackers", "defender": "defenders", "npc": "npcs",
    "runner": "runners", "swimmer": "swimmers", "surfer": "surfers", "cyclist": "cyclists", "climber": "climbers",
    "skier": "skiers", "pitcher": "pitchers", "batter": "batters", "goalkeeper": "goalkeepers", "referee": "referees",
    "archer": "archers", "warrior": "warriors", "knight": "knights", "hero": "heroes", "heroine": "heroines",
    "pilot": "pilots", "driver": "drivers", "captain": "captains", "villain": "villains", "agent": "agents",
    "father": "fathers", "mother": "mothers", "grandmother": "grandmothers", "grandfather": "grandfathers",
    "correspondent": "correspondents", "meteorologist": "meteorologists",
}
PAIR_WORDS = r"couple|pair|duo"  # "a couple", "a young couple": two people
CROWD_WORDS = r"crowd|audience|spectators|fans|onlookers|group of (?:\w+ )?(?:people|friends|kids|children)"
COUNT_WORDS = {"a": 1, "an": 1, "one": 1, "single": 1, "lone": 1, "two": 2, "three": 3, "four": 4, "five": 5,
               "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
# With these, a person named only as "the cook" or "the player" is likely just hands (or the camera itself).
HANDS_ONLY = r"hands?|fingers|gloved|close-?up|first-person|top-down"
BODY_PARTS_AFTER = r"\s*(?:['’]s\s+)?(?:hands?|fingers?|arms?|feet|legs?|silhouettes?)(?![\w-])"  # "a human hand"
FACELESS_CUES = r"no (?:people|person|humans?|faces?)|without (?:people|any people|a person|faces)|faceless"
# Speech that comes from nobody on screen: Lip does not apply when no face shows.
VOICEOVER_CUES = [
    r"voice-?overs?", r"voiced over", r"narrator", r"narration", r"narrates", r"off-?screen (?:voice|narrator|speaker)",
    r"unseen (?:narrator|speaker|voice)", r"disembodied voice", r"(?:voice|narrator) (?:is )?heard",
]

# ---- configuration: music vocabulary ----

CHORD_QUALITIES = {  # intervals above the root
    "major": (0, 4, 7), "maj": (0, 4, 7), "minor": (0, 3, 7), "min": (0, 3, 7), "m": (0, 3, 7),
    "diminished": (0, 3, 6), "dim": (0, 3, 6), "augmented": (0, 4, 8), "aug": (0, 4, 8),
    "7": (0, 4, 7, 10), "dominant 7th": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "major 7th": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10), "min7": (0, 3, 7, 10), "minor 7th": (0, 3, 7, 10), "sus2": (0, 2, 7), "sus4": (0, 5, 7),
    "5": (0, 7),
}
SCALE_STEPS = {
    "major": (0, 2, 4, 5, 7, 9, 11), "natural minor": (0, 2, 3, 5, 7, 8, 10), "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11), "melodic minor": (0, 2, 3, 5, 7, 9, 11),
    "major pentatonic": (0, 2, 4, 7, 9), "minor pentatonic": (0, 3, 5, 7, 10), "pentatonic": (0, 2, 4, 7, 9),
    "blues": (0, 3, 5, 6, 7, 10), "chromatic": tuple(range(12)), "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}
# Words after a named chord that confirm it is a chord ("C major chord", "A minor triad").
CHORD_CONTEXT = r"chords?|triads?|shapes?|arpeggios?|progressions?|power chord|key|block"
# Words in a sentence meaning a chord's notes are played one after another, not together.
MELODIC_CONTEXT = r"arpeggio|one at a time|one by one|broken|in turn|then"
NUMBER_WORDS = {"once": 1, "twice": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10}


# ---- quotes ----

_QUOTES = re.compile(
    r"\"(?P<d>[^\"]+)\""  # "..."
    r"|“(?P<c>[^”]+)”"  # “...”
    r"|(?<![\w’'])‘(?P<cs>\S(?:.*?\S)?)’(?![A-Za-z])"  # ‘...’ (a ’ inside a word is an apostrophe)
    r"|(?<![\w’'])'(?P<s>\S(?:.*?\S)?)'(?![A-Za-z])",  # '...'
    re.S,
)
_SENTENCE_END = re.compile(r"[.!?;](?=\s)|…(?=\s)")


def _words(patterns: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(patterns) + r")(?![\w-])", re.I)


_TEXT_AFTER = re.compile(r"^[,.!?]?\s*(?:" + "|".join(TEXT_NOUNS_AFTER) + r")(?![\w-])", re.I)
_SOUND_AFTER = re.compile(r"^[,.!?]?\s*(?:" + "|".join(SOUND_NOUNS_AFTER) + r")(?![\w-])", re.I)
_SPEECH_AFTER = re.compile(r"^[,.!?]?\s*(?:(?:he|she|they|it|someone|(?:the|a|an)\s+\w+|\w+)\s+)?(?:"
                           + "|".join(SPEECH_VERBS_AFTER) + r")(?![\w-])", re.I)
_TEXT_BEFORE = _words(TEXT_CUES_BEFORE)
_SPEECH_BEFORE = _words(SPEECH_CUES_BEFORE)
_SPEECH_CUES = _words(SPEECH_CUES)
_NO_SPEECH = _words(NO_SPEECH_CUES)
_CAPS_TOKEN = r"[A-Z0-9][A-Z0-9'’&.!?-]*"
_CAPS_TEXT = re.compile(r"(?<![\w-])(?:" + "|".join(CAPS_TEXT_CUES) + r")\s+(" + _CAPS_TOKEN + r"(?:\s+" + _CAPS_TOKEN + r")*)(?![\w'’])")


def _quoted_spans(prompt: str) -> list[tuple[int, int, str]]:
    """(start, end, inner text) of every quoted span, in order."""
    spans = []
    for m in _QUOTES.finditer(prompt):
        inner = next(g for g in m.groups() if g is not None)
        spans.append((m.start(), m.end(), inner))
    return spans


def _last_cue(pattern: re.Pattern[str], text: str) -> int:
    """End offset of the last cue in `text`, or -1."""
    ends = [m.end() for m in pattern.finditer(text)]
    return ends[-1] if ends else -1


def _classify(prompt: str, spans: list[tuple[int, int, str]]) -> list[str]:
    """'text', 'speech' or 'none' per quoted span."""
    kinds: list[str] = []
    for i, (start, end, _inner) in enumerate(spans):
        prev_end = spans[i - 1][1] if i else 0
        between = prompt[prev_end:start]
        if i and kinds[-1] != "none" and re.fullmatch(r"[\s,]*", between):
            kinds.append(kinds[-1])  # "Moving!" "On it!": a list of lines shares its cue
            continue
        sentence_starts = [m.end() for m in _SENTENCE_END.finditer(prompt, 0, start)]
        lo = max([prev_end, start - 120] + sentence_starts)
        before = prompt[lo:start]
        after = re.split(r"[.;:!?\"“‘']", prompt[end:end + 40], maxsplit=1)[0]
        if _TEXT_AFTER.match(after) or _SOUND_AFTER.match(after):
            kinds.append("text" if _TEXT_AFTER.match(after) else "none")
            continue
        if _SPEECH_AFTER.match(after):
            kinds.append("speech")
            continue
        text_at, speech_at = _last_cue(_TEXT_BEFORE, before), _last_cue(_SPEECH_BEFORE, before)
        if text_at < 0 and speech_at < 0:
            kinds.append("none")
        else:
            kinds.append("text" if text_at >= speech_at else "speech")
    return kinds


def _clean_quote(inner: str) -> str:
    return re.sub(r"\s+", " ", inner).strip().rstrip(",").strip()


def _caps_texts(prompt: str) -> list[str]:
    """Unquoted ALL-CAPS runs after a text cue: 'the title EIGHTY-SEVEN SECONDS slams onto black'."""
    found = []
    for m in _CAPS_TEXT.finditer(prompt):
        cue_start = m.start()
        if cue_start and not re.match(r"[\s(]", prompt[cue_start - 1]):
            continue
        run = m.group(1).rstrip(".!?-'’")
        tokens = run.split()
        while tokens and len(re.sub(r"[^A-Z]", "", tokens[-1])) <= 1 and not tokens[-1].isdigit():
            tokens.pop()  # a lone capital after the run is the start of the next sentence ("A man ...")
        run = " ".join(tokens)
        if sum(ch.isalpha() for ch in run) >= 2 and any(len(re.sub(r"[^A-Z]", "", t)) >= 2 for t in tokens):
            found.append(run)
    return found


def _without_quotes(prompt: str, spans: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, _ in spans:
        out.append(prompt[last:start])
        out.append(" (quoted) ")
        last = end
    out.append(prompt[last:])
    return "".join(out)


# ---- music ----

_NOTE = r"(?P<{p}l>[A-G])(?P<{p}a>[#♯♭]|b(?![a-z]))?"
# Bare-number qualities ("G7", "E5") read as chords only before "chord"; otherwise they are octaves.
_QUAL = "|".join(sorted((re.escape(q) if not q.isdigit() else q + r"(?=\s+(?:power\s+)?chords?)"
                         for q in CHORD_QUALITIES), key=len, reverse=True))
_SCALE_NAMES = "|".join(sorted((re.escape(s) for s in SCALE_STEPS), key=len, reverse=True))
_MUSIC_TOKEN = re.compile(
    r"(?<![\w#♯♭])(?:"
    + _NOTE.format(p="s") + r"\s*(?P<scale>" + _SCALE_NAMES + r")\s+scales?"  # C major scale
    + r"|" + _NOTE.format(p="c") + r"(?P<oct5>5)\s+power chords?"  # E5 power chord
    + r"|" + _NOTE.format(p="q") + r"\s*(?P<qual>" + _QUAL + r")(?![\w#♯♭'’])"  # C major, Am, G7
    + r"|" + _NOTE.format(p="n") + r"(?P<oct>-?[0-8])?(?![\w#♯♭'’])"  # A4, C, F#
    + r")"
)
_SEPARATOR = re.compile(r"\s*(?:,\s*(?:and\s+|then\s+)?|and\s+|then\s+|[-–—−‒‐]|to\s+|up\s+to\s+)?\s*", re.I)


def _pc(letter: str, accidental: str | None) -> int:
    return spelled_pitch_class(letter, accidental)


def _note_name(letter: str, accidental: str | None) -> str:
    return letter + {"♯": "#", "♭": "b"}.get(accidental or "", accidental or "")


class _Token:
    def __init__(self, m: re.Match[str]):
        self.start, self.end, self.text = m.start(), m.end(), m.group(0)
        g = m.groupdict()
        self.kind, self.octave, self.quality, self.scale = "note", None, None, None
        if g["sl"]:
            self.kind, self.letter, self.acc, self.scale = "scale", g["sl"], g["sa"], g["scale"].lower()
        elif g["cl"]:
            self.kind, self.letter, self.acc, self.quality = "chord", g["cl"], g["ca"], "5"
        elif g["ql"]:
            self.kind, self.letter, self.acc, self.quality = "chord", g["ql"], g["qa"], g["qual"]
            if self.quality not in ("m",):
                self.quality = self.quality.lower()
        else:
            self.letter, self.acc = g["nl"], g["na"]
            self.octave = int(g["oct"]) if g["oct"] is not None else None
        self.pc = _pc(self.letter, self.acc)

    @property
    def name(self) -> str:
        return _note_name(self.letter, self.acc) + ("" if self.octave is None else str(self.octave))

    @property
    def midi(self) -> int | None:
        try:  # the octave is the letter's: B#3 is C4
            return None if self.octave is None else spelled_midi(self.letter, self.acc, self.octave)
        except ValueError:  # outside MIDI 0–127
            return None

    def chord_pcs(self) -> list[int]:
        return [(self.pc + step) % 12 for step in CHORD_QUALITIES[self.quality]]


def _repeat_count(rest: str) -> int:
    m = re.search(r"\b(once|twice|\d+|two|three|four|five|six|seven|eight|nine|ten)(\s+times)?\b", rest, re.I)
    if not m:
        return 1
    word = m.group(1).lower()
    if word == "twice":
        return 2
    if word == "once":
        return 2 if re.search(r"\brepeat\w*\s+once", rest, re.I) else 1
    if not m.group(2):
        return 1
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _scale_notes(token: _Token, low: _Token | None, high: _Token | None) -> tuple[list[str], list[int | None]]:
    steps = SCALE_STEPS[token.scale]
    if low is not None and high is not None and low.midi is not None and high.midi is not None:
        midis = [m for m in range(low.midi, high.midi + 1) if (m - token.pc) % 12 in steps]
        return [SHARP_NAMES[m % 12] + str(m // 12 - 1) for m in midis], list(midis)
    pcs = [(token.pc + s) % 12 for s in steps]
    return [SHARP_NAMES[p] for p in pcs], [None] * len(pcs)


def _sentence_music(sentence: str) -> list[MusicConstraint]:
    tokens = [_Token(m) for m in _MUSIC_TOKEN.finditer(sentence)]
    # Runs of tokens joined only by separators ("C4, D4, E4", "C–E–G", "C major, then G major").
    runs: list[list[_Token]] = []
    for tok in tokens:
        if runs and _SEPARATOR.fullmatch(sentence[runs[-1][-1].end:tok.start]) and runs[-1][-1].kind == tok.kind != "scale":
            runs[-1].append(tok)
        else:
            runs.append([tok])
    out: list[tuple[MusicConstraint, set[int], bool]] = []  # constraint, pitch classes, spelled-in-parentheses
    melodic = re.search(MELODIC_CONTEXT, sentence, re.I) is not None
    used_as_range: set[int] = set()
    for run in runs:
        first = run[0]
        if first.kind == "scale":
            low = high = None
            later = [t for t in tokens if t.start >= first.end and t.kind == "note" and t.octave is not None]
            if len(later) >= 2 and re.search(r"\bfrom\b|[-–—]|\bto\b", sentence[first.end:later[1].end]):
                low, high = later[0], later[1]  # "C major scale from C4 up to C6"
                used_as_range.update({id(low), id(high)})
            notes, midis = _scale_notes(first, low, high)
            label = f"{_note_name(first.letter, first.acc)} {first.scale}"
            out.append((MusicConstraint(kind="scale", notes=notes, midi=midis, octave_strict=low is not None,
                                        source_text=first.text if low is None else sentence[first.start:high.end],
                                        label=label), set(), False))
            continue
        if first.kind == "chord":
            accepted = len(run) > 1 or first.quality == "5" or re.match(
                r"\s*(?:\w+\s+){0,2}?(?:" + CHORD_CONTEXT + r")\b", sentence[run[-1].end:], re.I)
            if first.quality not in ("major", "minor", "5", "m") and not re.match(r"\s*chord", sentence[first.end:], re.I):
                accepted = accepted and len(run) > 1
            if not accepted:
                continue
            for tok in run:
                pcs = tok.chord_pcs()
                quality = {"m": "minor", "5": "power chord"}.get(tok.quality, tok.quality)
                label = f"{_note_name(tok.letter, tok.acc)} {quality}"
                out.append((MusicConstraint(kind="chord", notes=[SHARP_NAMES[p] for p in pcs], midi=[None] * len(pcs),
                                            source_text=tok.text, label=label), set(pcs), False))
            continue
        notes = [t for t in run if id(t) not in used_as_range]
        if not notes:
            continue
        with_octave = all(t.octave is not None for t in notes)
        in_parens = sentence[:notes[0].start].rstrip().endswith("(")
        if len(notes) == 1 and not with_octave:
            continue  # a lone capital letter is not a pitch requirement
        if len(notes) == 2 and not with_octave and not in_parens:
            continue
        repeat = _repeat_count(sentence[notes[-1].end:])
        names = [t.name for t in notes] * repeat
        midis = [t.midi for t in notes] * repeat
        kind = "note" if len(notes) == 1 else "sequence"
        source = sentence[notes[0].start:notes[-1].end]
        out.append((MusicConstraint(kind=kind, notes=names, midi=midis, octave_strict=with_octave, source_text=source),
                    {t.pc for t in notes}, in_parens))
    # A chord and a spelled-out note run with the same pitch classes describe one thing.
    chords = [c for c in out if c[0].kind == "chord"]
    keep = []
    for item in out:
        c, pcs, parens = item
        if c.kind in ("note", "sequence") and not c.octave_strict:
            twin = next((ch for ch in chords if ch[1] == pcs), None)
            if twin is not None and (parens or not melodic):
                continue
        if c.kind == "chord" and melodic:
            if any(o[0].kind == "sequence" and o[1] == pcs and not o[2] for o in out):
                continue
        keep.append(c)
    return keep


def _music(prompt: str) -> list[MusicConstraint]:
    text = re.sub(r"\bmiddle C\s*\(C4\)", "C4", prompt)
    text = re.sub(r"\bmiddle C\b", "C4", text)
    constraints: list[MusicConstraint] = []
    seen = set()
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        for c in _sentence_music(sentence):
            key = (c.kind, tuple(c.notes))
            if key not in seen:
                seen.add(key)
                constraints.append(c)
    return constraints


# ---- expected faces and voice-over ----

_SINGULAR = "|".join(sorted(PERSON_NOUNS, key=len, reverse=True))
_PLURAL = "|".join(sorted(PERSON_NOUNS.values(), key=len, reverse=True))
_GAP = r"(?:(?!(?:of|with|and|or|in|on|at|to|the|a|an|who|while|as)\b)[A-Za-z'’-]+\s+){0,3}?"
_COUNTED = re.compile(r"(?<![\w-])(?P<count>" + "|".join(COUNT_WORDS) + r"|\d{1,2})\s+" + _GAP
                      + r"(?:(?P<one>" + _SINGULAR + r")|(?P<many>" + _PLURAL + r"))(?![\w-])", re.I)
_PAIR = re.compile(r"(?<![\w-])an?\s+" + _GAP + r"(?:" + PAIR_WORDS + r")(?![\w-])(?!\s+of\b)", re.I)
_DEFINITE = re.compile(r"(?<![\w-])(?:the|his|her|their)\s+" + _GAP + r"(?:" + _SINGULAR + r")(?![\w-])", re.I)
_BARE_PLURAL = re.compile(r"(?<![\w-])(?:" + _PLURAL + r")(?![\w-])", re.I)
_CROWD = re.compile(r"(?<![\w-])(?:" + CROWD_WORDS + r")(?![\w-])", re.I)
_FACELESS = re.compile(r"(?<![\w-])(?:" + FACELESS_CUES + r")(?![\w-])", re.I)
_VOICEOVER = _words(VOICEOVER_CUES)
_HANDS = re.compile(r"(?<![\w-])(?:" + HANDS_ONLY + r")(?![\w-])", re.I)
_BODY_PART = re.compile(BODY_PARTS_AFTER, re.I)
_SOMEONE = re.compile(r"(?<![\w-])someone(?![\w-])", re.I)
MAX_RULE_FACES = 6


def _unwrapped(prompt: str) -> str:
    """A prompt wrapped whole in quotes (a CSV export artefact) unwrapped, its doubled quotes ("") made single."""
    text = prompt.strip()
    if len(text) > 1 and text[0] in "\"“" and text[-1] not in "\"”":
        text = text[1:]  # only the opening quote survived: the rest would read as one long quote
    elif len(text) > 1 and text[0] in "\"“" and text[-1] in "\"”" and text.count(text[0]) > 2:
        text = text[1:-1]
    return text.replace('""', '"')


def _unquoted_wording(prompt: str) -> str:
    """The prompt without its quoted spans (after `_unwrapped`)."""
    text = _unwrapped(prompt)
    return _without_quotes(text, _quoted_spans(text))


def faces_from_wording(prompt: str) -> FaceRange:
    """Expected primary face identities from the prompt's wording (quoted lines ignored): people introduced with a
    count ("a man", "two women", "three men", "a couple" = 2) add up, except that people described one by one after a
    counted group ("three men ... a bald man ... a man in stripes") are taken as its members; with none, "someone" or a person named only as
    "the anchor" counts as one (not where hands or a close-up are named: then it is likely just hands); people without a count ("dancers") or a crowd widen the range by two; "no people" -> 0."""
    bare = _unquoted_wording(prompt)
    if _FACELESS.search(bare):
        return FaceRange(min_ids=0, max_ids=0)
    total = members = 0  # members: people of a counted group not yet described one by one
    counted_spans = []
    for m in _COUNTED.finditer(bare):
        word = m.group("count").lower()
        n = int(word) if word.isdigit() else COUNT_WORDS[word]
        if (m.group("one") and n != 1) or _BODY_PART.match(bare, m.end()):
            continue  # "two man-made ...", "a human hand", "a nurse's hands"
        counted_spans.append((m.start(), m.end()))
        if m.group("one") and members:
            members -= 1  # "two women. On the right, an older woman ...": one of the two
            continue
        total += n
        members += n if m.group("many") else 0
    total += 2 * len(_PAIR.findall(bare))
    if total == 0 and (_SOMEONE.search(bare) or (_DEFINITE.search(bare) and not _HANDS.search(bare))):
        total = 1
    inside = lambda pos: any(a <= pos < b for a, b in counted_spans)  # noqa: E731
    loose = any(not inside(m.start()) for m in _BARE_PLURAL.finditer(bare)) or bool(_CROWD.search(bare))
    low = min(total, MAX_RULE_FACES)
    return FaceRange(min_ids=low, max_ids=min(MAX_RULE_FACES, low + (2 if loose else 0)))


def voiceover_cue(prompt: str) -> str | None:
    """The wording saying speech comes from an unseen voice ("voiceover", "narrator", ...), or None."""
    m = _VOICEOVER.search(_unquoted_wording(prompt))
    return m.group(0) if m else None


# ---- public API ----

def annotate_prompt(prompt: str, faces: FaceRange | None = None, faces_source: str | None = None) -> PromptAnnotation:
    """Deterministic annotation of one prompt text; without `faces` the count comes from the wording."""
    if faces is None:
        faces, faces_source = faces_from_wording(prompt), "rules"
    prompt = _unwrapped(prompt)
    spans = _quoted_spans(prompt)
    kinds = _classify(prompt, spans)
    required = [_clean_quote(s[2]) for s, k in zip(spans, kinds) if k == "text"]
    lines = [_clean_quote(s[2]) for s, k in zip(spans, kinds) if k == "speech"]
    for caps in _caps_texts(_without_quotes(prompt, spans)):
        if caps not in required:
            required.append(caps)
    bare = _without_quotes(prompt, spans)
    forbidden = bool(_NO_SPEECH.search(bare)) and not lines
    speech = bool(lines) or (bool(_SPEECH_CUES.search(_NO_SPEECH.sub(" ", bare))) and not forbidden)
    return PromptAnnotation(
        required_text=list(dict.fromkeys(t for t in required if t)),
        speech_required=speech, speech_lines=list(dict.fromkeys(t for t in lines if t)), speech_forbidden=forbidden,
        music=_music(prompt), faces=faces, expected_faces_source=faces_source)


def annotate_rules(item: PromptItem) -> PromptAnnotation:
    """Deterministic annotation of one prompt from its text and the suite's expected-faces labels (the wording's
    count where the suite has none)."""
    return annotate_prompt(item.prompt, item.expected_faces, "suite" if item.expected_faces else None)


def annotate_suite(suite: Suite) -> dict[str, Any]:
    """The annotations-file structure for every item of `suite`, from the rules alone."""
    return {
        "format": 1,
        "made_by": {"source": "rules", "version": RULES_VERSION},
        "items": {item.key: annotate_rules(item).model_dump(mode="json") for item in suite.items},
    }
