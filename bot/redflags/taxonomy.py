"""The red flags the bot escalates: each a rule with a level, a name in both languages and
the clinical guidance it comes from.

Back pain (low back pain and sciatica, lumbar disc herniation, spinal tumours):
- NICE NG59, *Low back pain and sciatica in over 16s* (2016, updated 2020), and NICE CKS
  *Back pain - low (without radiculopathy)*: red flags for cauda equina syndrome, spinal
  fracture, cancer and infection.
- NICE CKS / GIRFT *National suspected cauda equina syndrome pathway* (2023): bladder or
  bowel dysfunction, saddle anaesthesia, sexual dysfunction, bilateral or progressive
  neurological symptoms are emergencies.
- Chou et al., *Diagnosis and treatment of low back pain: a joint clinical practice
  guideline from the American College of Physicians and the American Pain Society* (Ann
  Intern Med 2007;147:478-491): progressive or severe neurological deficit, cancer
  history, unexplained weight loss, fever, IV drug use, immunosuppression, osteoporosis or
  steroid use with trauma.
- Spinal epidural haematoma on anticoagulants, aortic dissection or aneurysm, and chest
  pain or breathlessness: emergencies whatever the context (NICE CKS *Chest pain*).

Meningioma and brain tumours (NICE NG99 *Brain tumours (primary) and brain metastases in
over 16s*; NICE CKS *Headache - assessment*): a thunderclap headache, a seizure, sudden
loss of vision, weakness of one side, trouble speaking or sudden confusion need emergency
care (the FAST signs of stroke among them).

Levels: `now` — go to an emergency department or call 120 now; `prompt` — see a doctor
within a day or two (sooner if it gets worse).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.models import Lang


class Level(StrEnum):
    NOW = "now"  # emergency department / 120
    PROMPT = "prompt"  # a doctor within a day or two


@dataclass(frozen=True)
class Rule:
    name: str
    group: str
    level: Level
    label: dict[Lang, str]  # the sign, as the alert names it to the visitor

    @property
    def back(self) -> bool:
        """A back-pain red flag: it needs the back in the message (a fever alone is not
        one); chest and intracranial signs need nothing else."""
        return self.group not in ("cardiorespiratory", "intracranial")


def _rule(name: str, group: str, level: Level, zh: str, en: str) -> Rule:
    return Rule(name, group, level, {"zh": zh, "en": en})


NOW, PROMPT = Level.NOW, Level.PROMPT
RULES: dict[str, Rule] = {r.name: r for r in (
    # cauda equina syndrome
    _rule("urinary_retention", "cauda_equina", NOW, "腰背痛伴排尿困难或尿不出来",
          "back pain with trouble passing urine"),
    _rule("incontinence", "cauda_equina", NOW, "腰背痛伴大小便失控",
          "back pain with loss of bladder or bowel control"),
    _rule("bladder_sensation", "cauda_equina", NOW, "腰背痛伴膀胱或排便感觉减退",
          "back pain with loss of bladder sensation"),
    _rule("saddle_numbness", "cauda_equina", NOW, "会阴部/鞍区麻木",
          "numbness around the bottom, genitals or inner thighs"),
    _rule("sexual_dysfunction", "cauda_equina", NOW, "腰背痛伴新出现的性功能障碍或生殖器麻木",
          "back pain with new loss of sexual function or genital feeling"),
    # progressive or severe neurological deficit
    _rule("progressive_weakness", "neurological", NOW, "进行性或突发的腿部无力",
          "worsening or sudden leg weakness"),
    _rule("foot_drop", "neurological", NOW, "足下垂（脚抬不起来）", "foot drop (the foot won't lift)"),
    _rule("both_legs", "neurological", NOW, "双腿麻木或无力", "numbness or weakness in both legs"),
    # infection
    _rule("fever_after_procedure", "infection", NOW, "脊柱手术或注射后发热、寒战",
          "fever or chills after spinal surgery or an injection"),
    _rule("wound_infection", "infection", NOW, "手术伤口红肿、渗液", "a red, swollen or oozing wound"),
    _rule("fever_back_pain", "infection", PROMPT, "腰背痛伴发热或寒战",
          "back pain with fever or chills"),
    _rule("infection_risk", "infection", PROMPT, "免疫力低下或静脉用药者的新发腰背痛",
          "new back pain with a weakened immune system or injecting drugs"),
    # malignancy
    _rule("cancer_history", "malignancy", PROMPT, "有癌症病史的新发或加重的腰背痛",
          "new or worsening back pain after cancer"),
    _rule("weight_loss", "malignancy", PROMPT, "腰背痛伴不明原因消瘦",
          "back pain with unexplained weight loss"),
    _rule("night_pain_systemic", "malignancy", PROMPT, "夜间痛或静息痛伴全身症状",
          "back pain at night or at rest with feeling unwell"),
    # fracture
    _rule("major_trauma", "fracture", NOW, "外伤（车祸、高处坠落等）后腰背痛",
          "back pain after a crash, fall or heavy blow"),
    _rule("fragility_fracture", "fracture", PROMPT, "骨质疏松或长期用激素者突发腰背痛",
          "sudden back pain with osteoporosis or long-term steroids"),
    # vascular and bleeding
    _rule("vascular", "vascular", NOW, "撕裂样疼痛或腹部搏动性包块",
          "tearing pain or a pulsing lump in the belly"),
    _rule("anticoagulant_bleed", "vascular", NOW, "服用抗凝药时突发剧烈腰背痛",
          "sudden severe back pain on a blood thinner"),
    _rule("chest_or_breathing", "cardiorespiratory", NOW, "胸痛或呼吸困难",
          "chest pain or trouble breathing"),
    # intracranial (meningioma, brain tumour)
    _rule("thunderclap_headache", "intracranial", NOW, "突发剧烈头痛",
          "a sudden, severe headache"),
    _rule("seizure", "intracranial", NOW, "抽搐（癫痫发作）", "a seizure (fit)"),
    _rule("vision_loss", "intracranial", NOW, "突然视力丧失或复视", "sudden loss of vision"),
    _rule("one_sided_weakness", "intracranial", NOW, "一侧面部或肢体突然无力、麻木",
          "sudden weakness or numbness of the face, arm or leg on one side"),
    _rule("speech_trouble", "intracranial", NOW, "说话含糊或说不出话", "slurred or lost speech"),
    _rule("confusion", "intracranial", NOW, "突然意识模糊或反应异常", "sudden confusion"),
)}
