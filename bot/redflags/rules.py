"""Which signs together make which red flag: every rule of bot.redflags.taxonomy as sets of
signs (bot.redflags.signs), any one set of which fires it."""

from __future__ import annotations

# rule: the alternative sets of signs; "spine" is the back in the message (the back rules
# need it, so "I have a fever" alone is not one); the chest and intracranial rules need
# nothing else.
RULE_SIGNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "urinary_retention": (("urine_retention", "spine"),),
    "incontinence": (("incontinence", "spine"),),
    "bladder_sensation": (("bladder_sensation", "spine"),),
    "saddle_numbness": (("saddle_numbness", "spine"),),
    "sexual_dysfunction": (("genital_function", "spine"),),
    "progressive_weakness": (("leg_weakness", "worsening", "spine"), ("legs_give_way", "spine"),
                             ("leg_weakness", "both_legs")),
    "foot_drop": (("foot_drop",),),
    "both_legs": (("both_legs", "spine"),),
    "fever_after_procedure": (("fever", "procedure", "spine"),),
    "wound_infection": (("wound", "procedure"), ("wound", "spine")),
    "fever_back_pain": (("fever", "spine"),),
    "infection_risk": (("immune", "spine"),),
    "cancer_history": (("cancer_history", "spine"),),
    "weight_loss": (("weight_loss", "spine"),),
    "night_pain_systemic": (("night_pain", "unwell", "spine"),),
    "major_trauma": (("trauma", "spine"),),
    "fragility_fracture": (("bone_fragility", "sudden", "spine"),),
    "vascular": (("tearing", "spine"), ("tearing", "faint")),
    "anticoagulant_bleed": (("anticoagulant", "severe", "spine"), ("anticoagulant", "sudden", "spine")),
    "chest_or_breathing": (("chest",),),
    "thunderclap_headache": (("thunderclap",),),
    "seizure": (("seizure",),),
    "vision_loss": (("vision",),),
    "one_sided_weakness": (("one_side",),),
    "speech_trouble": (("speech",),),
    "confusion": (("confused",),),
}
# A rule that says the same as a stronger one is left out when both fire.
SUBSUMED_BY = {"fever_back_pain": "fever_after_procedure"}
