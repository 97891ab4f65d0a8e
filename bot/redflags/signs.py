"""The sign lexicon: symptom concepts in both languages, found in a message the way
patients write them, with typos read as the words they miss, negated signs left out, and
a general question *about* a sign told apart from a report of one.

A sign is a concept ("urine will not come", "a numb saddle area", "a blood thinner"), not
a rule: `bot.redflags.rules` says which signs together make which red flag. The patterns
are written for everyday words ("尿不出来", "can't pee", "wet myself"); what they miss,
the trained head (bot.redflags.head) reads from the whole message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.language import ZIPF_FLOOR, zipf

_C = r"[^，。,.！!？?；;\n]"  # within one clause
_W = r"(?:\w+[\s,]+)"  # one English word and its space

# (Chinese pattern, English pattern) per sign.
SIGN_PATTERNS: dict[str, tuple[str, str]] = {
    # --------------------------------------------------------------- context
    "spine": (
        r"腰|背|脊|尾椎|尾骨|骶|坐骨|椎间盘|椎管|腰突|间盘|[lL][1-5]|[sS]1",
        r"\b(back|backs|backpain|backache|spine|spinal|lumbar|sciatica|sciatic|discs?|disks?|"
        r"tailbone|coccyx|vertebra\w*|l[1-5]|s1|fusion|discectomy|microdiscectomy|laminectomy|"
        r"slipped disc)\b"),
    "procedure": (
        r"手术|术后|开刀|微创|椎间孔镜|孔镜|封闭|硬膜外|针刀|打针|注射|神经阻滞|射频|消融|"
        r"穿刺|针灸|扎针|打了一针|做完|钢钉|内固定",
        r"\b(surgery|surgeries|operation|op|post[- ]?op|fusion|discectomy|microdiscectomy|"
        r"laminectomy|epidural|injection|injections|jab|shot|nerve block|block|procedure|"
        r"lumbar puncture|spinal tap|needling|acupuncture|incision|stitches|staples|"
        r"kyphoplasty|vertebroplasty|ablation)\b"),
    # --------------------------------------------------------------- cauda equina
    "urine_retention": (
        rf"尿不出|尿不下|尿不太出|尿不尽|解不出小便|小便{_C}{{0,6}}(解不出|出不来|不出来|困难|费劲|费力|"
        rf"很难|滴|一点点|排不出)|排不出尿|(尿|小便){_C}{{0,6}}(只有|就|才)(几滴|一点点|一点)|"
        rf"(使劲|用力|憋气){_C}{{0,6}}(才能?)?(尿|小便|排尿)|(尿|小便|排尿){_C}{{0,6}}(使|用|费)[^，。]{{0,3}}劲|"
        rf"没(有)?(尿|小便)出来|尿(也)?尿不了|(硬|使劲|用力)挤{_C}{{0,3}}(出来|尿)|"
        rf"(\d+|[一二两三四五六七八九十几半]+)\s*个?(多)?(小时|钟头|天|hours?|hrs?){_C}{{0,4}}没(有)?(尿|小便|解手|上厕所)|"
        rf"(小肚子|膀胱|肚子){_C}{{0,8}}(胀|鼓){_C}{{0,10}}(尿不|没尿|出不来|不出来|几滴|一点点)|"
        rf"每次(就|只)?(滴|尿)(几滴|一点)|(尿|小便)排不干净|憋着尿出不来|想尿(可|但|却|又){_C}{{0,4}}(尿不|出不来)",
        rf"\b(can'?t|cant|cannot|unable to|trouble|difficulty|struggl\w*|hard to|haven'?t been able to|"
        rf"not able to|couldn'?t|barely|hardly)\s+{_W}{{0,3}}(pee|peeing|wee|weeing|urinat\w*|piss|"
        rf"empty my bladder|go to the toilet)"
        rf"|\bhaven'?t (peed|weed|urinated|pee'?d|been able to go)"
        rf"|\b(only|just) (a )?(dribbl\w*|trickl\w*|drops?|a few drops)"
        rf"|\bnothing (comes?|came|would come) out|\b(only|just) (a )?(little|tiny) (bit|amount)|"
        rf"\b(pee|wee|urine) (won'?t|wouldn'?t|doesn'?t|didn'?t) come"
        rf"|\b(strain|push)\w* (hard )?to (pee|wee|urinate|go)"
        rf"|\bbladder (feels |is |was )?(so |really )?(full|bursting|tight)|urinary retention"),
    "incontinence": (
        rf"尿裤子|尿床|尿湿|漏尿|(大小便|二便|小便|大便|尿)?失禁|拉(在)?裤子|拉裤兜|"
        rf"(尿|小便|大便|屎|大小便|二便|pee|wee|poop|poo|urine){_C}{{0,6}}(控制不住|憋不住|管不住|兜不住|忍不住|控制不了|自己(流|出|漏)|"
        rf"流出来|漏出来|不受控制|失控)|(憋不住|控制不住|管不住|忍不住|兜不住)(尿|小便|大便|屎)|(裤子|内裤|床单|被子|褥子|裤裆){_C}{{0,6}}(湿|有大便|有屎|有尿)",
        rf"\b(wet|peed|pee'?d|weed|pooped|pooed|soiled|messed|wee'?d)\s+(myself|himself|herself|my pants|"
        rf"my trousers|his pants|her pants|the bed)"
        rf"|\b(lost|loss of|losing|lose|no|can'?t|cant|cannot)\s+{_W}{{0,2}}control\s+(of\s+|over\s+)?"
        rf"(my\s+|his\s+|her\s+)?(bladder|bowels?|pee|urine|wee|poo)"
        rf"|\b(bladder|bowels?)\s+{_W}{{0,3}}(leak\w*|accidents?|gave way|let go)"
        rf"|\b(can'?t|cant|cannot|couldn'?t|unable to)\s+hold\s+(it|in|on|{_W}{{0,2}}(pee|wee|urine|bladder|"
        rf"bowels?|poo|poop|water))"
        rf"|incontinen\w*|\bleak(ing|s|ed)?\s+{_W}{{0,2}}(urine|pee|wee|poo)"
        rf"|\b(pee|wee|urine|poo|poop|尿|小便|大便)\s*{_W}{{0,3}}(just )?"
        rf"(comes|came|leaks?|leaked|dribbles|dribbled) out"
        rf"|\b(trousers|pants|underwear|knickers|sheets|bed)\s+{_W}{{0,3}}(wet|damp|soaked|soiled)"
        rf"|\b(toilet|bladder|bowel|wee|pee|poo) accidents?|\baccidents? (in|on) (my|his|her|the) "
        rf"(pants|trousers|bed|underwear)"),
    "bladder_sensation": (
        rf"(不知道|感觉不到|没感觉|察觉不到|觉察不到|不觉得|没有感觉|没知觉){_C}{{0,8}}(尿|小便|大便|解手|上厕所|"
        rf"憋尿|尿意|便意)|膀胱{_C}{{0,8}}感觉{_C}{{0,8}}(消失|没了|不到|没有)|(尿|小便|大便)(的时候)?{_C}{{0,4}}(没(有|啥)?感觉|没知觉|感觉不到)|"
        rf"没有?(尿意|便意)|不知道{_C}{{0,6}}(什么|啥)时候(尿|拉)的|(看|按)(着)?(时间|钟|表)(去)?(上厕所|尿)",
        rf"\b(can'?t|cant|cannot|don'?t|didn'?t|doesn'?t|no longer|never)\s+{_W}{{0,3}}"
        rf"(feel|tell|notice|know|sense)\w*\s+{_W}{{0,4}}(pee|wee|urinat\w*|bladder|poo|poop|bowel|"
        rf"go to the (toilet|loo|bathroom))"
        rf"|\bno (urge|sensation|feeling)\s+{_W}{{0,3}}(pee|wee|urinat\w*|go|bladder|小便|尿|大便)"
        rf"|\bby the clock"),
    "saddle_numbness": (
        rf"(会阴|鞍区|肛门|肛周|屁股|屁屁|臀部|私处|下体|裆|外阴|大腿内侧|大腿根|屁眼|坐的地方|下面){_C}{{0,16}}"
        rf"(麻|木|没知觉|没感觉|没有感觉|没啥感觉|感觉减退|失去感觉|感觉不到|不是自己的|隔了)|"
        rf"擦屁股{_C}{{0,6}}(没感觉|感觉不到)|(麻|木)[^。！？!?]{{0,12}}(会阴|肛门|肛周|鞍区)|(坐|坐着){_C}{{0,6}}(没感觉|感觉不到|木木)",
        rf"\b(saddle|groin|genital\w*|private (parts|area)|privates|inner thighs?|"
        rf"perine\w*|anus|anal|crotch|between (my|the|his|her) legs|down there|bits|area i sit on|"
        rf"the bit i sit on)\s+{_W}{{0,5}}(numb\w*|tingl\w*|no feeling|lost feeling|"
        rf"dead|cardboard|asleep|can'?t feel)"
        rf"|\b(butt|buttocks?|bum|bottom|backside|arse|ass)\s+{_W}{{0,5}}(numb\w*|no feeling|lost feeling|"
        rf"dead|cardboard|can'?t feel)"
        rf"|\bnumb\w*\s+{_W}{{0,3}}(saddle|groin|genitals?|private parts|privates|buttocks?|butt|crotch|"
        rf"between (my|the) legs|bottom|down there|bum)"
        rf"|\b(can'?t|cannot|don'?t|no|lost)\s+(feel\w*)\s+{_W}{{0,3}}(saddle|groin|genitals?|"
        rf"private (parts|area)|privates|buttocks?|butt|bum|bottom|crotch|anus|between (my|the) legs|"
        rf"down there|the (toilet )?paper)\b"
        rf"|can'?t feel (anything )?when i wipe|\bwip(e|ing)\b{_C}{{0,30}}(feel|numb)"),
    "genital_function": (
        rf"(同房|夫妻生活|性生活|房事|那方面|做爱|下面){_C}{{0,10}}(没感觉|没啥感觉|麻|木|不行|硬不起来|起不来|感觉不到)|"
        rf"(勃起|硬不起来|射不出|射精){_C}{{0,6}}(不了|困难|障碍|不行|没有|出不来)?|阳痿",
        rf"\b(erection|erections|get hard|stay hard|ejaculat\w*|impoten\w*)\b"
        rf"|\b(sex|intercourse|orgasm)\s+{_W}{{0,6}}(numb|felt nothing|no feeling|can'?t feel|different)"),
    # --------------------------------------------------------------- weakness
    "leg_weakness": (
        rf"(腿|脚|下肢|足|膝盖){_C}{{0,8}}(无力|没劲|没力气|使不上劲|发软|软(?!骨)|抬不起|不听使唤|站不住|"
        rf"站不稳|站不起来|动不了|瘫|迈不开|走不了|跪下|打软|一软|吃不上力)|走不了路|站不起来|下不了床|"
        rf"(上楼|爬楼|上台阶){_C}{{0,6}}(上不去|抬不起|没劲)",
        rf"\b(legs?|feet|foot|knees?|thighs?)\b\s*{_W}{{0,4}}(weak\w*|giving (way|out)|gave (way|out)|give (way|out)|"
        rf"buckl\w*|won'?t hold|wont hold|paraly\w*|can'?t move|collaps\w*|like jelly|jelly|not working|useless)"
        rf"|\b(can'?t|cannot|unable to|couldn'?t)\s+(stand|walk|get up|climb)\b"),
    "legs_give_way": (
        rf"(腿|膝盖|膝){_C}{{0,6}}(一软|打软|发软跪|跪下|软了一下|闪了一下)|差点(跪|摔|跌)|腿一软",
        rf"\b(legs?|knees?)\s+{_W}{{0,4}}(giving (way|out)|gave (way|out)|give (way|out)|buckl\w*|"
        rf"collaps\w*|went from under)"),
    "worsening": (
        r"越来越|突然|一下子|一天比一天|加重|更严重|更厉害|比之前|比以前|恶化|今天(开始|发现)|差点",
        r"\b(getting|keeps? getting|every day|by the day|worse|worsening|sudden\w*|all of a sudden|"
        r"weaker|fell|falling|fall|tripping|trip|progressive\w*|spreading|nearly fell|almost fell)\b"),
    "foot_drop": (
        rf"足下垂|垂足|脚抬不起来|(脚背|脚尖|脚趾|脚趾头|脚掌|脚板){_C}{{0,6}}(勾不起|抬不起|翘不起|翘不上|"
        rf"上不来|起不来|动不了)|拖着脚|走路拖|脚{_C}{{0,4}}(拍地|啪嗒|拖地|耷拉)|拖鞋{_C}{{0,6}}掉|"
        rf"脚后跟{_C}{{0,4}}走不了",
        rf"foot drop|drop foot|(foot|feet)\s+{_W}{{0,3}}(dragg\w*|slap\w*|flop\w*|drops?|hangs?|catch\w*)"
        rf"|dragg\w* (my|the|his|her) (foot|feet|leg)"
        rf"|can'?t (lift|raise|point) (my|the|his|her) (foot|feet|toes)"
        rf"|toes? {_W}{{0,3}}(won'?t|don'?t|doesn'?t|can'?t) (lift|come up|go up|raise)"
        rf"|tripping over (my|the|his|her) (own )?(foot|feet|toes)|can'?t walk on (my |his |her )?heels?"
        rf"|(catch\w*|scuff\w*) (the|my) (toes?|pavement|ground|floor)"),
    "both_legs": (
        rf"(两条腿|双腿|两腿|两只脚|双脚|双下肢|两边(的)?腿|两个腿|两边脚|两条大腿|两边屁股){_C}{{0,10}}"
        rf"(麻|木|没劲|无力|发软|没(啥|什么)?知觉|使不上劲|不听使唤|没(啥|什么)?感觉|不是自己的|weak|numb|tingl|dead)",
        rf"\bboth (of )?(my |his |her )?(legs|feet|thighs|sides)\s+{_W}{{0,5}}(numb\w*|tingl\w*|weak\w*|"
        rf"pins and needles|dead|asleep|heavy|giving way|no feeling)"
        rf"|\b(numb\w*|tingl\w*|weak\w*|pins and needles)\s+{_W}{{0,4}}(in )?both (of )?(my |his |her )?"
        rf"(legs|feet|thighs)"),
    # --------------------------------------------------------------- infection
    "fever": (
        r"发烧|发热|高烧|低烧|烧到|有点烧|烧起来|(体温|量了|温度|烧)\D{0,4}3[89](\.\d)?|打颤|打冷颤|"
        r"冷得(发抖|直抖|牙齿)|3[7-9](\.\d)?[度℃]|4[0-2](\.\d)?[度℃]|寒战|寒颤|"
        r"打寒颤|发冷|冷得发抖|畏寒|打摆子|盗汗|出冷汗|晚上出汗|夜里出汗|一身汗",
        r"\b(fever\w*|feverish|chills|chilly|shiver\w*|shak(ing|y) with cold|rigors|high temp\w*|temperature|"
        r"hot and cold|night sweats|sweating at night|sweats|drenched|burning up|3[89](\.\d)?\s?c|"
        r"10[0-4](\.\d)?\s?f)\b"),
    "wound": (
        rf"(刀口|伤口|切口|口子|针眼|创口|疤|缝线|扎针的地方|扎针那|打针的地方|针口){_C}{{0,10}}(红|肿|流脓|脓|渗|化脓|"
        rf"发烫|烫|裂开|有味|臭|流水|黄水|流液|冒水)",
        rf"\b(incision|wound|scar|stitches|staples|dressing|injection site|the site|cut)\s+{_W}{{0,5}}"
        rf"(red\w*|swollen|swelling|pus|ooz\w*|discharg\w*|leak\w*|smell\w*|hot|open\w*|weep\w*|"
        rf"yellow|green|gunk|crusty|angry|infected)"),
    "immune": (
        r"激素|强的松|泼尼松|甲泼尼龙|地塞米松|免疫抑制|化疗|艾滋|hiv|移植|吸毒|注射毒品|海洛因|透析|"
        r"类风湿.{0,6}(药|针)|生物制剂",
        r"\b(steroids?|prednis\w*|immunosuppress\w*|immune system|chemo\w*|transplant|hiv|"
        r"inject\w* (drugs|heroin)|shoot\w* up|iv drugs?|heroin|sharing needles|dialysis|methotrexate|"
        r"biologics?)\b"),
    # --------------------------------------------------------------- malignancy
    "cancer_history": (
        rf"(得过|患过|有过|做过|治疗过|查出|确诊|以前|之前|几年前|去年|前年|曾经){_C}{{0,10}}(癌|恶性肿瘤|肿瘤|白血病|"
        rf"淋巴瘤|骨髓瘤)|(癌|肿瘤)症?病史|癌{_C}{{0,6}}(手术|化疗|放疗|治疗过|切除)|化疗后|放疗后|"
        rf"(乳腺|肺|前列腺|肠|胃|肝|甲状腺|肾)癌",
        r"\b(had|have had|history of|treated for|treatment for|survivor|diagnosed with|chemo\w*|radiation|radiotherapy|"
        r"mastectomy|in remission|remission)\b[^.]{0,40}\b(cancer|tumou?r|lymphoma|myeloma|leuka?emia)"
        r"|\b(cancer|lymphoma|myeloma)\s+(survivor|history|before|in the past|years ago)"
        r"|\b(breast|lung|prostate|bowel|colon|kidney|thyroid)\s+(cancer|ca)\b|\bin remission\b"),
    "weight_loss": (
        rf"体重{_C}{{0,6}}(下降|减轻|掉|减少|少了|降|轻了)|瘦了|消瘦|暴瘦|掉秤|掉了\d+斤|瘦了\d+斤|"
        rf"(衣服|裤子|裤腰|皮带){_C}{{0,6}}(松|大了|肥了)|没减肥{_C}{{0,6}}瘦|吃不下{_C}{{0,6}}瘦",
        r"weight loss|\blost (\d+\s*)?(\w+\s+){0,3}(weight|pounds|lbs|kg|kilos|stone)\b|losing weight|"
        r"\bdropped \d+\s*(pounds|lbs|kg|kilos)|clothes (are )?(getting |hanging )?loose|"
        r"(belt|trousers|jeans|pants) (\w+\s+){0,3}(loose|notch\w*)|without (trying|dieting)|"
        r"weight (has )?(dropped|fallen|gone down)|\bskinny\b|\bwasting\b"),
    "night_pain": (
        rf"(半夜|夜里|夜间|晚上|睡觉|躺){_C}{{0,8}}(疼|痛){_C}{{0,6}}(醒|睡不着|更|加重|最厉害)|疼醒|痛醒|"
        rf"(疼|痛)得{_C}{{0,4}}睡不着|(躺|休息){_C}{{0,6}}(不缓解|也疼|也痛|更疼|更痛|没用)|夜里{_C}{{0,4}}睡不着",
        r"\bwakes? (me|him|her)( up)?\b|\bwoke (me|him|her)\b|keeps? (me|him|her) (up|awake)|can'?t sleep|"
        r"\b(worse|worst) at night|night pain|pain at night|even (when|while) (resting|lying)|"
        r"lying down (doesn'?t help|makes it worse)|rest doesn'?t help|at \d+ ?am\b"),
    "unwell": (
        r"没精神|没力气|乏力|浑身没劲|食欲|胃口|吃不下|盗汗|出汗|冷汗|虚汗|发烧|发热",
        r"\b(exhausted|run down|off (my|his|her) food|no appetite|sweats|sweating|feverish|unwell|"
        r"tired all the time|fatigue\w*)\b"),
    # --------------------------------------------------------------- fracture
    "trauma": (
        rf"车祸|撞车|追尾|被车(撞|刮)|被{_C}{{0,4}}撞|高处坠落|坠落|掉下来|摔下来|滚下来|从{_C}{{0,8}}(摔|跌|掉|滑|滚)下|"
        rf"摔(了|伤|倒|了一跤|一跤)|跌倒|滑倒|砸(到|伤|着|中|了)|撞伤|撞倒|外伤|踢到|被踢|被打",
        r"\b(car|motorbike|motorcycle|bike|road|traffic|cycling) (accident|crash|wreck|collision)|\bcrash\w*|"
        r"\baccident\b|\bfell\b(?! asleep)|\bfall (off|from|down)|\bslipped (on|and|in|down)|\bhit by\b|"
        r"collision|knocked (down|over)|landed (on|flat)|thrown (off|from)|rear[- ]?ended|tackled?|"
        r"down the stairs|off (a|the) (ladder|roof|horse|wall|bike)|wiped out"),
    "bone_fragility": (
        r"骨质疏松|骨松|长期(吃|用|打)?激素|(吃|用)了?{_C}{0,4}年的?激素|泼尼松|强的松|[789]\d岁|年纪大",
        r"\b(osteoporo\w*|osteopenia|brittle bones|thin bones|bone density|long[- ]term steroids?|"
        r"prednisone|prednisolone|steroids? for (years|months)|[789]\d[- ]?(years?|yrs?)[- ]?old|"
        r"in (his|her|my) [789]0s)\b"),
    "sudden": (
        r"突然|一下子|猛地|咳嗽|打喷嚏|喷嚏|弯腰|一弯|搬|抬|提|咔|剧痛|疼得",
        r"\b(sudden\w*|all of a sudden|out of nowhere|cough\w*|sneez\w*|bent (down|over)|lifting|"
        r"picked up|snap|crack|pop)\b"),
    "severe": (
        r"剧痛|剧烈|疼得{_C}{0,6}(受不了|站不住|要命|直不起|打滚|动不了|哭|冒汗)|从来没(这么|这样)疼|"
        r"super\s*疼|特别疼|疼死|疼得厉害|痛得厉害|痛不欲生|钻心",
        r"\b(severe\w*|agony|agonising|agonizing|excruciating|worst|really bad|unbearable|"
        r"can'?t stand (it|the pain)|screaming|crippling|10/10|ten out of ten|super bad|so bad)\b"),
    # --------------------------------------------------------------- vascular
    "tearing": (
        r"撕裂|撕开|撕扯|像被撕|刀割一样|(肚子|腹部|肚脐){_C}{0,8}(一跳一跳|跳动|搏动|一鼓一鼓)|"
        r"(肚子|腹部){_C}{0,6}包块{_C}{0,6}跳",
        r"\b(tearing|ripping|torn|ripped|rip)\b|\b(puls\w*|throbbing|beating)\s+{_W}{0,3}(lump|mass|belly|"
        r"stomach|tummy|abdomen)|(lump|mass)\s+{_W}{0,4}(puls\w*|throb\w*|beat\w*)"),
    "faint": (
        r"晕倒|晕过去|昏倒|昏过去|快晕|差点晕|出冷汗|冒冷汗|脸色(发白|苍白)",
        r"\b(faint\w*|passed out|pass out|collapsed|blacked out|cold sweat|clammy|grey|gray)\b"),
    "anticoagulant": (
        r"华法林|阿哌沙班|利伐沙班|达比加群|艾多沙班|肝素|低分子|抗凝|波立维|氯吡格雷|替格瑞洛|"
        r"打肚皮针|肚皮针|稀释血液|血液稀释|抗血小板",
        r"\b(warfarin|coumadin|apixaban|eliquis|rivaroxaban|xarelto|dabigatran|pradaxa|edoxaban|"
        r"heparin|enoxaparin|lovenox|clexane|fragmin|clopidogrel|plavix|ticagrelor|brilinta|"
        r"blood[- ]?thinners?|anticoagula\w*|thin (my|his|her|the) blood)\b"),
    # --------------------------------------------------------------- chest
    "chest": (
        rf"胸口{_C}{{0,6}}(疼|痛|闷|压|紧|堵|揪)|胸痛|(突然|一下子|剧烈|严重){_C}{{0,4}}胸闷|胸闷{_C}{{0,4}}(厉害|得慌|出汗)|胸部{_C}{{0,4}}(疼|痛|闷|压)|心口{_C}{{0,4}}(疼|痛|压)|"
        rf"心口{_C}{{0,6}}(闷|堵|压)|吸不(到底|上来|进去|上气)|喘不上气|喘不过气|呼吸困难|憋气|上不来气|透不过气|气短|气急|喘不动",
        rf"\bchest\s+{_W}{{0,4}}(pain\w*|hurt\w*|tight\w*|pressure|heavy|heaviness|crush\w*|squeez\w*|ache|aching)"
        rf"|\b(pain|pressure|tightness|heaviness|crushing)\s+{_W}{{0,3}}(in|across|on) (my|his|her|the) chest"
        rf"|short(ness)? of breath|can'?t (catch (my|his|her) )?breath\w*|breathless\w*|"
        rf"struggl\w* to breathe|hard to breathe|trouble breathing|out of breath|gasping|winded"),
    # --------------------------------------------------------------- intracranial
    "thunderclap": (
        rf"头{_C}{{0,8}}(炸|裂|从来没这么疼|最疼|剧痛|像被打|像被敲|爆)|突然{_C}{{0,6}}头(疼|痛)得|"
        rf"头(疼|痛)欲裂|爆炸(样|一样){_C}{{0,4}}头|头(疼|痛){_C}{{0,8}}(这辈子|从来没有|最厉害|受不了)",
        rf"worst headache|thunderclap|headache\s+{_W}{{0,6}}(sudden\w*|worst|explod\w*|out of nowhere|"
        rf"like a (hammer|bat|truck|bomb)|ever had)|\bsudden\w*\s+{_W}{{0,4}}headache|head (felt like it )?"
        rf"(exploded|explode|exploding)|hit (me |him |her )?(in the head )?like a (hammer|bat|truck|brick)"),
    "seizure": (
        r"抽搐|抽风|口吐白沫|(手脚|四肢|全身|身子|浑身){0,2}一直抽|(手脚|四肢|全身|身子)"
        r".{0,4}抽|翻白眼|犯病抽|(手|胳膊|腿|全身|身子|浑身)一直抖|抖了(几|两|一|\d)分钟|发愣.{0,6}抖",
        r"\b(seizures?|(a|had a|having|another|first) fit|fitting|convuls\w*|jerking|foaming)\b"
        r"|shaking all over|eyes rolled|shaking on the floor|shaking for (a|about|\d)"),
    "vision": (
        rf"(突然|一下子|忽然){_C}{{0,8}}(看不见|看不清|失明|眼前(发)?黑|重影|模糊)|"
        rf"(一只眼|一个眼|左眼|右眼|眼睛){_C}{{0,6}}(看不见|失明|黑了|什么都看不到)|(?<!严)重影|复视|视野{_C}{{0,4}}(缺|少|黑)|看(东西|什么|人)?{_C}{{0,2}}都是(双的|两个|重的)",
        r"\b(lost|losing|loss of) (the )?(vision|sight)|can'?t see (out of|anything)|went blind|"
        r"double vision|seeing double|curtain|blacked out (in|on) (one|my|his|her) eye|"
        r"(sudden\w*|all of a sudden)\s+(\w+\s+){0,3}(blurr\w*|blind|can'?t see)"),
    "one_side": (
        rf"(一边|半边|半身|左边|右边|一侧|左侧|右侧|左|右)(的)?{_C}{{0,3}}(脸|嘴|手|胳膊|身子|身体|胳臂)"
        rf"{_C}{{0,6}}(歪|麻|没劲|无力|不听使唤|拿不住|抬不起|动不了|没知觉|使不上劲)|嘴歪|口角歪|歪嘴|面瘫|"
        rf"拿不住(筷子|东西|杯子|碗|勺)|脸歪|嘴角{_C}{{0,4}}(耷拉|歪|下垂|流口水)|喝水{_C}{{0,4}}(漏|流出来)|(筷子|杯子|碗){_C}{{0,6}}拿不住",
        r"\bface\s+(\w+\s+){0,3}(droop\w*|lopsided|sagg\w*|crooked|fell)|\bdroop\w* (face|mouth|smile)|"
        r"\b(weak\w*|numb\w*|droop\w*|paraly\w*|dead|limp)\s+(\w+\s+){0,3}(on )?one side|"
        r"\bone side of (my|his|her|the) (face|body|mouth)|\bhalf (of )?(my|his|her) (face|body)|"
        r"\b(left|right) (arm|hand|side)\s+"
        r"(\w+\s+){0,3}(weak\w*|numb\w*|dead|won'?t|limp|heavy|useless)|can'?t lift (his|her|my) (left|right) arm|"
        r"\bdropping things|\bcrooked smile"),
    "speech": (
        r"说话{_C}{0,6}(含糊|不清|大舌头|说不出|不利索|乱|颠三倒四|听不懂|不对劲)|口齿不清|说不出话|大舌头|"
        r"吐字不清|言语不清|词不达意|含含糊糊",
        r"\bslurr\w*|can'?t (get|find) (the |his |her |my )?words|words (are )?(all )?(jumbled|wrong|garbled)|"
        r"talking (nonsense|gibberish|rubbish)|can'?t speak|couldn'?t speak|garbled|speech\s+(\w+\s+){0,3}"
        r"(slurr\w*|weird|wrong|off|strange)|\bmumbl\w*"),
    "confused": (
        rf"(突然|一下子|今天|刚才){_C}{{0,8}}(糊涂|迷糊|认不出|不认识人|胡言乱语|叫不醒|神志不清|意识不清|反应迟钝)|"
        rf"认不出(人|我|家人)|不认识(人|我|家里人)|叫不醒|叫醒{_C}{{0,4}}(迷糊|迷迷瞪瞪|又睡)|嗜睡|特别能睡|神志不清|意识不清|胡言乱语|答非所问",
        r"\b(confus(ed|ion)(?! (about|which|what|by|with|whether|as to|between))|disorient\w*|"
        r"doesn'?t (know|recognise|recognize)|didn'?t (know|recognise|recognize)|"
        r"very (drowsy|sleepy)|hard to wake|can'?t wake|not making (any )?sense|out of it|away with the fairies)\b"),
}
_SIGN_RE = {sign: tuple(re.compile(p) for p in pair) for sign, pair in SIGN_PATTERNS.items()}

# Signs whose match means "something is there": a negation just before denies it
# ("没发烧", "no fever"). Context signs (spine, procedure) are never denied.
_NEGATABLE = frozenset(SIGN_PATTERNS) - {"spine", "procedure"}
# A symptom told as recurring for long ("胸口老是痛", "always get chest tightness") is not
# the sudden one these signs mean.
_CHRONIC = re.compile(r"(老是|经常|总是|常常|时常|反复|多年|好多年|一直有|\b(always|often|for years|every now and then|"
                      r"on and off|sometimes)\b)[^，。,.！!？?；;\n]{0,8}$")
# A seizure in someone known to have epilepsy is that illness, not the new seizure of a
# brain tumour (NICE NG99): the message names the illness, undenied.
_EPILEPSY = re.compile(r"(?<!没有)(?<!没)(?<!不是)(癫痫|羊癫疯|羊角风|羊羔疯)|(?<!no )(?<!not )\bepilep\w*")
_SUDDEN_SIGNS = frozenset({"chest", "seizure", "thunderclap", "vision", "one_side", "speech"})
# Signs a "gone now" or "years ago" in their sentence takes back (a cancer history is past
# by nature).
_TOLD_AS_PAST = _NEGATABLE - {"cancer_history", "immune", "anticoagulant", "bone_fragility"}
_NEG_ZH = re.compile(r"(没有|没|无|不|未|否认|并不|从不|从没|也没)[^，。,.！!？?；;\n]{0,3}$")
_NEG_EN = re.compile(r"\b(no|not|never|nothing|without|denies|deny|nor|none|n't|dont|didnt|doesnt|havent|"
                     r"hasnt|isnt|wasnt|arent)\b(\s+\w+){0,3}\s*$")
_CLAUSE_START = re.compile(r"[，。,.！!？?；;\n]|\bbut\b|\bthough\b|但是|可是|不过")

# English words the patterns key on: a word one edit away (two for long words) that is not
# itself a common word is read as that word ("numbnes", "incontinant", "feaver").
_KEY_WORDS = tuple(sorted({w for pair in SIGN_PATTERNS.values()
                           for w in re.findall(r"[a-z]{5,}", pair[1])} | set(
    """bladder bowel bowels urinate urinating peeing incontinent incontinence numbness
    tingling weakness fever chills shivering temperature cancer chemotherapy weight
    seizure headache vision slurred confused confusion warfarin osteoporosis incision
    discharge swollen breathing breathless sciatica herniated spine spinal lumbar
    surgery injection epidural back""".split())))
_KEY_SET = frozenset(_KEY_WORDS)


# Signs that only set the scene (the back, a procedure) or qualify another sign.
CONTEXT_SIGNS = frozenset({"spine", "procedure", "worsening", "sudden", "severe", "unwell",
                           "bone_fragility", "immune", "anticoagulant"})


@dataclass(frozen=True)
class SignMatch:
    sign: str
    words: str  # the words of the message that showed it
    start: int
    end: int


@lru_cache(maxsize=1)
def _to_simplified():
    import opencc  # OpenCC (Apache-2.0): traditional characters read as simplified

    return opencc.OpenCC("t2s").convert


@lru_cache(maxsize=32)
def normalise(message: str) -> str:
    """Simplified characters (條腰痛 → 条腰痛), lower case, full-width forms folded,
    misspelt key words read as meant (kept for the last few messages: the lexicon, the
    question test and the head each read the same message)."""
    text = _to_simplified()(message).translate(_FULL_WIDTH).lower()
    return re.sub(r"[a-z]+", lambda match: _key_word_for(match.group()), text)


_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if chr(c) not in "，！？；："}


def _deletions(word: str, depth: int) -> set[str]:
    out, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


# Deletion neighbourhoods (SymSpell): a misspelling and its key word share a deletion, so a
# word is checked against a handful of candidates, not every key word.
_BY_DELETION: dict[str, list[str]] = {}
for _key in _KEY_WORDS:
    for _variant in _deletions(_key, 1 if len(_key) < 8 else 2):
        _BY_DELETION.setdefault(_variant, []).append(_key)


@lru_cache(maxsize=8192)
def _key_word_for(word: str) -> str:
    """The key word `word` is a misspelling of (one edit away, two for long words; a short
    word only as a short key word with its first letter), or the word itself."""
    if len(word) < 3 or len(word) > 24 or word in _KEY_SET or word.startswith(_KEY_WORDS):
        return word  # a key word, or one of its forms ("drooping" for droop\w*)
    candidates = sorted({key for variant in _deletions(word, 1 if len(word) < 7 else 2)
                         for key in _BY_DELETION.get(variant, ())})
    for key in candidates:
        limit = 1 if len(key) < 8 else 2
        if len(word) < 5 and (len(key) > 5 or word[0] != key[0]):
            continue
        if abs(len(key) - len(word)) <= limit and _edits(word, key, limit) <= limit:
            return word if zipf(word, "en") >= ZIPF_FLOOR else key
    return word


def _edits(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, swaps), or
    limit + 1 as soon as it must exceed `limit` (most words stop after a row or two)."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], before[j - 2] + 1)
        if min(row) > limit and min(previous) > limit:  # a swap reaches back one row
            return limit + 1
        before, previous = previous, row
    return previous[-1]


# A sign told as gone, long past or done on purpose, in the same sentence as the sign.
_NOT_NOW = re.compile(
    r"就好了|又好了|好了|没事了|消失了|消了|恢复了|正常了|缓过来|退了|早就好|痊愈|治好了|小时候|年前|前年|"
    r"去年|那年|以前有过|年轻的时候|故意|在减肥|减肥瘦|多年前|十年前|看文章|网上看|看到说|听说|好奇|科普|"
    r"复习|考试|(会|能|可能)(不会)?(导致|引起|造成)|是啥样|是什么样|什么意思|啥意思|"
    r"\b(went away|gone now|goes away|stopped now|cleared|cleared up|better now|back to normal|"
    r"normal again|fine now|settled|resolved|recovered|fully recovered|went the second|straight away|"
    r"comes straight back|years ago|ages ago|long ago|at uni|in college|at school|"
    r"in my (teens|20s|30s)|read (about|online|that)|reading about|heard (about|that)|curious|"
    r"in general|for an exam|(can|could|does|do|will|would|might) (a |an |the )?\w+( \w+)? "
    r"(cause|make you|give you|lead to)|what does \w+( \w+)? (mean|look like)|"
    r"as a (kid|child|toddler|baby|teenager)|when i was (a )?(kid|young|little|child)|"
    r"in (19|20)\d\d|last (year|winter|summer)|on purpose|trying to lose)\b")
_SENTENCE = re.compile(r"[。！!？?；;\n]|(?<![0-9])\.(?![0-9])")
_NEG_INSIDE = re.compile(r"没有|没|不|未|无|\bno\b|\bnot\b|\bnever\b|\bwithout\b")


def _negated(text: str, start: int) -> bool:
    """A negation in the same clause just before `start` ("没有发烧", "no fever at all")."""
    before = text[max(0, start - 40):start]
    clause = _CLAUSE_START.split(before)[-1]
    return bool(_NEG_ZH.search(clause[-6:]) or _NEG_EN.search(clause.replace("'", "")))


def _negated_inside(pattern: re.Pattern[str], words: str) -> bool:
    """"体重没掉", "脚不拖地": a negation the pattern let into its gap (the match holds
    without it), not one that is part of the sign ("尿不出")."""
    return any(pattern.fullmatch(words[:neg.start()] + words[neg.end():])
               for neg in _NEG_INSIDE.finditer(words, 1))


_RELATIVE = re.compile(r"(爸|妈|爹|娘|爷|奶|姥|外公|外婆|舅|姨|叔|伯|姑|姐|哥|弟|妹|公公|婆婆|亲戚|朋友|"
                       r"\b(dad|mum|mom|father|mother|grandma|grandpa|grandad|grandfather|"
                       r"grandmother|nan|uncle|aunt|auntie|sister|brother|cousin|friend|relative)\b)")
_OWN = re.compile(r"我自己|我本人|我这|我的腰|自己的腰|\b(my own|myself|my back|i'm|im|i am)\b")


def _family_history(text: str, start: int) -> bool:
    """"我姐得过乳腺癌，我自己…": a relative's illness, told beside the writer's own back."""
    clause = _CLAUSE_START.split(text[max(0, start - 30):start])[-1]
    return bool(_RELATIVE.search(clause)) and bool(_OWN.search(text))


def _not_now(text: str, start: int, end: int) -> bool:
    """The sentence holding the sign says it is gone, long past or intended."""
    left = max((m.end() for m in _SENTENCE.finditer(text, 0, start)), default=0)
    right = next((m.start() for m in _SENTENCE.finditer(text, end)), len(text))
    sentence = text[left:start] + " " + text[end:right]  # not the sign's own words
    return bool(_NOT_NOW.search(sentence))


def find_signs(message: str) -> dict[str, SignMatch]:
    """The signs a message shows (the first un-negated mention of each), with the words."""
    return read_signs(message)[0]


def read_signs(message: str) -> tuple[dict[str, SignMatch], frozenset[str]]:
    """The signs a message shows, and the signs it mentions only to deny ("没发烧")."""
    text = normalise(message)
    found: dict[str, SignMatch] = {}
    denied: set[str] = set()
    for sign, patterns in _SIGN_RE.items():
        for pattern in patterns:
            for match in pattern.finditer(text):
                if sign in _NEGATABLE and (
                        _negated(text, match.start())
                        or _negated_inside(pattern, match.group())
                        or (sign in _TOLD_AS_PAST and _not_now(text, match.start(), match.end()))
                        or (sign == "cancer_history" and _family_history(text, match.start()))
                        or (sign in ("seizure", "confused") and _EPILEPSY.search(text))
                        or (sign in _SUDDEN_SIGNS and _CHRONIC.search(text[max(0, match.start() - 12):
                                                                           match.start()]))):
                    denied.add(sign)
                    continue
                words = (message[match.start():match.end()] if len(message) == len(text)
                         else match.group()).strip()
                found[sign] = SignMatch(sign, words, match.start(), match.end())
                break
            if sign in found:
                break
    return found, frozenset(denied - set(found))


# ------------------------------------------------------------------ asking, not telling
_ASKS_ZH = re.compile(r"什么情况|哪些|是否|有的人|的人|病人|患者|什么是|"
                      r"是什么意思|区别|(会|能|可能)(导致|引起|造成|出现)|症状有|有哪|要是|如果|假如|万一|"
                      r"是不是.{0,12}(症状|表现|信号)")
_PERSONAL_ZH = re.compile(r"我|俺|咱|自己|本人|家里|爸|妈|爷|奶|姥|外公|外婆|公公|婆婆|老公|老婆|媳妇|"
                          r"丈夫|妻子|爱人|孩子|儿子|女儿|闺女|宝宝|朋友|同事|他|她|今天|昨天|昨晚|前天|"
                          r"最近|这几天|这两天|刚才|刚刚|现在|早上|上周|上礼拜|上个月|几天|好几|\d+天|"
                          r"岁|了$")
_ASKS_EN = re.compile(r"\?|^(what|whats|what's|when|how|why|does|do|can|could|is|are|should|will|"
                      r"which|who|would|at what|in what)\b|\bwhat if\b|\bif (someone|a person|you)\b")
_PERSONAL_EN = re.compile(r"\b(i|i'm|im|i've|ive|i'd|me|my|mine|myself|we|our|us|he|she|his|her|"
                          r"him|hers|mum|mom|mother|dad|father|husband|wife|son|daughter|partner|"
                          r"friend|boyfriend|girlfriend|grandma|grandpa|today|yesterday|tonight|"
                          r"this morning|last night)\b")


def asks_about(message: str) -> bool:
    """A general question about a sign or condition ("什么情况下腰痛要马上去医院？", "can a
    slipped disc make you incontinent?"), not a report of one's own: it asks, and names no
    person and no time of their own."""
    text = normalise(message).strip()
    if re.search(r"[\u4e00-\u9fff]", text) and not re.search(r"[a-z]{3,}", text):
        return bool(_ASKS_ZH.search(text)) and not _PERSONAL_ZH.search(text)
    return bool(_ASKS_EN.search(text) or _ASKS_ZH.search(text)) and not (
        _PERSONAL_EN.search(text) or _PERSONAL_ZH.search(text))
