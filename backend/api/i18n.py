"""The catalogues' texts in Russian: names and descriptions of the surfaces, datasets and
models, the descriptions and update rules of the optimizers and schedules, and what each
keyword means. A catalogue route takes the language from `?lang=` or else from the
Accept-Language header (`LangDep`) and passes each English text through `text`; a text with
no Russian version stays English. Written for this course, not translated by machine.
"""

from typing import Annotated, Literal

from fastapi import Depends, Query, Request

Lang = Literal["en", "ru"]


async def request_lang(
    request: Request,
    lang: Annotated[Lang | None, Query(description="the texts' language (else Accept-Language)")] = None,
) -> Lang:
    """`?lang=` if given, else the first of Accept-Language's languages this API speaks."""
    if lang is not None:
        return lang
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()
        if code.startswith("ru"):
            return "ru"
        if code.startswith("en"):
            return "en"
    return "en"


LangDep = Annotated[Lang, Depends(request_lang)]


def text(lang: Lang, table: dict[str, str], key: str, english: str) -> str:
    """`table[key]` in Russian, else the English text."""
    return table.get(key, english) if lang == "ru" else english


# ---- surfaces: id -> (name, description) ---------------------------------------------------

SURFACE_NAMES = {
    "quadratic": "Квадратичная чаша",
    "ravine": "Овраг (κ = 50)",
    "ravine_rotated": "Овраг, повёрнутый на 45°",
    "saddle": "Седло",
    "monkey_saddle": "Обезьянье седло",
    "rosenbrock": "Розенброк",
    "beale": "Бил",
    "booth": "Бут",
    "matyas": "Матьяш",
    "mccormick": "Маккормик",
    "goldstein_price": "Голдстейн–Прайс",
    "six_hump_camel": "Шестигорбый верблюд",
    "himmelblau": "Химмельблау",
    "styblinski_tang": "Стыблински–Танг",
    "rastrigin": "Растригин",
    "ackley": "Экли",
    "linear_regression": "Линейная регрессия",
}

SURFACE_DESCRIPTIONS = {
    "quadratic": (
        "Идеально круглая чаша: градиент смотрит прямо на минимум, поэтому градиентный спуск и импульс "
        "идут по прямой, а Adam, масштабирующий каждую координату отдельно, от неё отклоняется. Здесь "
        "видно, что делает с градиентным спуском одна лишь скорость обучения: при η < 1 он сходится, "
        "при η = 1 колеблется без конца, при η > 1 расходится."
    ),
    "ravine": (
        "Гессиан diag(1, 50) имеет число обусловленности 50: скорость обучения, достаточно малая для "
        "крутого направления y (η < 2/50), едва движется вдоль пологого x. Импульс и покоординатное "
        "масштабирование Adam или RMSprop справляются с этим оврагом, потому что он вытянут вдоль осей."
    ),
    "ravine_rotated": (
        "Тот же овраг, но его дно идёт по диагонали, и крутое и пологое направления смешивают обе "
        "координаты. Adam и RMSprop масштабируют каждую координату по отдельности и теряют здесь почти "
        "всё своё преимущество, а импульсу поворот безразличен."
    ),
    "saddle": (
        "Вдоль x поверхность выгнута вверх, вдоль y — вниз: начало координат — стационарная точка, но не "
        "минимум, и f не ограничена снизу. Стартуя почти на оси x, градиентный спуск почти замирает у "
        "седла, пока крошечное смещение по y не вырастет и не унесёт его прочь."
    ),
    "monkey_saddle": (
        "В начале координат сходятся три долины; там обращаются в ноль и градиент, и даже гессиан, так "
        "что признаки второго порядка не говорят, что это за точка. Градиент убывает около неё как r², "
        "поэтому обычный градиентный спуск застревает здесь гораздо дольше, чем на x² − y²."
    ),
    "rosenbrock": (
        "Найти изогнутую долину-банан легко, а вот пройти по ней до минимума в (1, 1) трудно: её дно почти "
        "плоское, а стенки крутые. Градиентный спуск мечется от стенки к стенке, а импульс и Adam идут "
        "вдоль долины."
    ),
    "beale": (
        "Крутые стенки при |y| > 1 и длинная пологая изогнутая долина к минимуму в (3, 0.5): значения "
        "охватывают несколько порядков (полезна логарифмическая шкала цвета). Скорость обучения, "
        "устойчивая на стенках, почти не двигает по дну долины — адаптивные методы вроде Adam "
        "справляются с этим лучше обычного градиентного спуска."
    ),
    "booth": (
        "Выпуклая квадратичная функция с гессианом [[10, 8], [8, 10]] и собственными числами 18 и 2: "
        "линии уровня — наклонные эллипсы с числом обусловленности 9. Спокойный первый пример того, как "
        "наклонная долина изгибает путь градиентного спуска."
    ),
    "matyas": (
        "Выпуклая квадратичная функция с очень пологой диагональной долиной: собственные числа гессиана "
        "1 поперёк неё и 0.04 вдоль. Пути быстро падают на диагональ, а потом ползут к началу координат — "
        "малый градиент ещё не значит близость к минимуму."
    ),
    "mccormick": (
        "Синусоидальная рябь вдоль x + y на наклонном параболическом жёлобе даёт бесконечный ряд минимумов "
        "и сёдел, и функция не ограничена снизу; в этом окне видны глобальный минимум (−0.547, −1.547), "
        "локальный в (2.594, 1.594) и седло между ними. Градиентный спуск с малым шагом приходит в "
        "глобальный минимум ровно тогда, когда x + y в начале лежит между линиями сёдел x + y = −4π/3 и "
        "x + y = 2π/3, как у предложенного старта."
    ),
    "goldstein_price": (
        "Значения от 3 в глобальном минимуме (0, −1) до примерно 10⁶ в углах, рядом локальные минимумы со "
        "значениями 30, 84 и 840 (полезна логарифмическая шкала цвета). Скорость обучения, безопасная на "
        "крутых стенках, слишком мала в котловинах, а котловина, где закончится путь, зависит от "
        "оптимизатора."
    ),
    "six_hump_camel": (
        "Шесть минимумов, два из них глобальные — в (±0.0898, ∓0.7127) с f = −1.0316, — а между ними семь "
        "сёдел, одно в начале координат. Из предложенного старта обычный градиентный спуск "
        "останавливается в мелком локальном минимуме, а импульс может перенести путь через хребет в "
        "глобальный."
    ),
    "himmelblau": (
        "Четыре одинаково хороших минимума с f = 0, четыре седла между ними и локальный максимум около "
        "(−0.271, −0.923). Стартуя у этой вершины, разные оптимизаторы скатываются в разные минимумы: "
        "какой из них найден — вопрос динамики, а не качества."
    ),
    "styblinski_tang": (
        "Сумма двух одинаковых одномерных двойных ям, наклонённых так, что яма при t ≈ −2.90 глубже, "
        "чем при t ≈ 2.75: один глобальный минимум, три локальных и четыре седла. Градиентный спуск "
        "остаётся в той яме, где каждая координата начала, а достаточный импульс может перекатить его "
        "через барьер в более глубокую."
    ),
    "rastrigin": (
        "Чаша, покрытая «коробкой для яиц» из косинусных бугорков: локальный минимум около каждой целой "
        "точки и глобальный в начале координат. Градиентные методы застревают в ближайшей ямке — эта "
        "поверхность показывает, где кончается локальная оптимизация."
    ),
    "ackley": (
        "Почти плоское плато в мелкой ряби вокруг острой воронки с вершиной в начале координат, где у f "
        "излом. Малые шаги застревают в ряби, а большие или шумные чувствуют общий наклон воронки."
    ),
    "linear_regression": (
        "Среднеквадратичная ошибка линейной модели с двумя весами на 200 фиксированных объектах с "
        "коррелированными признаками: линии уровня — вытянутые эллипсы вокруг решения МНК. Градиентный "
        "спуск по всей выборке идёт гладко, SGD по одному объекту дрожит вокруг этого пути и при "
        "постоянной скорости обучения не успокаивается, а мини-батчи — нечто среднее."
    ),
}

# ---- optimizers and schedules: id -> description, id -> update rule ----------------------------

OPTIMIZER_DESCRIPTIONS = {
    "sgd": (
        "Градиентный спуск; с импульсом μ — метод тяжёлого шарика. torch держит η вне буфера "
        "(b ← μb + g, w ← w − ηb), на слайдах η входит в него (u ← γu + ηg)."
    ),
    "adagrad": (
        "Делит каждую координату на корень из суммы её квадратов градиентов: крутые оси получают "
        "малые шаги, и каждый шаг всё время уменьшается."
    ),
    "rmsprop": (
        "AdaGrad со скользящим средним квадратов градиентов, так что шаги не уменьшаются вечно. "
        "α здесь — константа сглаживания (γ на слайдах)."
    ),
    "adam": (
        "Импульс по градиенту плюс покоординатное масштабирование RMSprop, оба с поправкой смещения "
        "на (1 − βᵗ), а не на (1 − β), как на слайдах."
    ),
    "adamw": (
        "Adam, в котором затухание весов применяется к самим весам, а не добавляется к градиенту "
        "(развязанное затухание весов)."
    ),
    "nadam": "Adam, первый момент которого заглядывает на шаг вперёд, как импульс Нестерова.",
    "radam": "Adam, который сдерживает первые шаги, пока оценка второго момента ещё шумная.",
    "adamax": "Adam с бесконечной нормой вместо среднеквадратичной.",
    "adadelta": (
        "Масштабирует шаги отношением прошлых величин обновлений и градиентов, так что единицы "
        "согласованы и η можно оставить равным 1."
    ),
    "rprop": (
        "Берёт только знак каждой координаты градиента и подстраивает свой шаг для каждой координаты: "
        "метод для полной выборки."
    ),
    "asgd": (
        "Усреднённый SGD: обычные шаги SGD с убывающей скоростью; он ещё хранит скользящее среднее "
        "точек (ax), и сходится именно оно."
    ),
    "adafactor": (
        "Экономный по памяти родственник Adam, раскладывающий второй момент матриц на множители. Его "
        "обрезка обновления использует RMS всего тензора, поэтому каждый старт считается отдельно."
    ),
    "lbfgs": (
        "Квазиньютоновский метод, строящий модель кривизны по прошлым градиентам. Его направление "
        "смешивает все координаты тензора, поэтому каждый старт считается отдельно."
    ),
}

UPDATE_RULES = {
    "sgd": "g ← ∇L(w) + λw;  b ← μ·b + (1 − τ)·g;  d ← g + μ·b (nesterov) или b;  w ← w − η·d",
    "rmsprop": "v ← α·v + (1 − α)·g²;  w ← w − η·g / (√v + ε)  (centered: √(v − ḡ²))",
    "adamw": "w ← w − ηλw;  затем шаг Adam",
    "nadam": "Adam с заглядыванием Нестерова для m и расписанием импульса μₜ = β₁(1 − ½·0.96^{tψ})",
    "radam": (
        "Adam с выпрямлением дисперсии rₜ; пока ρₜ ≤ 5, он делает шаги импульса с поправкой смещения "
        "без знаменателя √v"
    ),
    "rprop": "sᵢ ← sᵢ·η₊, если gᵢ сохранил знак, sᵢ·η₋, если сменил;  wᵢ ← wᵢ − sign(gᵢ)·sᵢ",
    "asgd": "w ← w·(1 − λη) − η·g;  ηₜ = η / (1 + λ·η·t)^α;  после t0 — среднее ax по точкам",
    "adafactor": (
        "второй момент в виде множителей (средние по строкам × столбцам); RMS обновления обрезается "
        "на d; относительный размер шага"
    ),
    "lbfgs": (
        "квазиньютоновский: направление −H·g по последним history_size парам (s, y); каждый step() "
        "делает до max_iter итераций через closure"
    ),
    "multistep": "ηₜ = η₀·γ^(число вех ≤ t)",
    "cosine_warm_restarts": "косинусный отжиг с перезапуском через T₀, T₀·T_mult, ... шагов",
    "onecycle": (
        "lr растёт от max_lr/div_factor до max_lr за долю pct_start запуска, потом спадает до "
        "max_lr/(div_factor·final_div_factor)"
    ),
    "cyclic": "треугольные циклы между base_lr и max_lr",
    "plateau": "η ← max(η·factor, min_lr) после `patience` шагов без улучшения потерь",
    # the community's (backend/optim/community.py; their descriptions come with them, description_ru)
    "prodigy": (
        "Adam в масштабе d:  m ← β₁m + d(1 − β₁)g;  v ← β₂v + d²(1 − β₂)g²;  w ← w − dη·m/(√v + dε);  "
        "d̂ = d_coef·Σ⟨g, w₀ − w⟩ / ‖s‖₁ (суммы с весами β₃, s — по градиентам);  "
        "d ← min(наибольшее d̂ до сих пор, d·growth_rate)"
    ),
    "schedulefree_adamw": (
        "градиент в y = (1 − β₁)z + β₁x;  v ← β₂v + (1 − β₂)g²;  z ← z − ηₜ·g/(√(v/(1 − β₂ᵗ)) + ε);  "
        "x ← (1 − cₜ)x + cₜz,  cₜ = ηₜ²/Σᵢ≤ₜ ηᵢ²  (ηₜ: η после warmup_steps шагов линейного разогрева)"
    ),
    "schedulefree_sgd": (
        "градиент в y = (1 − μ)z + μx;  z ← z − ηₜ·g;  x ← (1 − cₜ)x + cₜz,  cₜ = ηₜ²/Σᵢ≤ₜ ηᵢ²"
    ),
    "schedulefree_radam": (
        "Schedule-Free AdamW с выпрямлением RAdam: пока ρₜ ≤ 4, шага нет (silent_sgd_phase); затем "
        "ηₜ = η·rₜ/√(1 − β₂ᵗ) для g/(√v + ε)"
    ),
    "lamb": (
        "m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  u ← m/(√v + ε);  "
        "w ← w − η/(1 − β₁ᵗ) · (min(‖w‖, 10)/‖u‖) · u   (‖·‖ по всему тензору)"
    ),
    "ademamix": (
        "m₁ ← β₁m₁ + (1 − β₁)g;  m₂ ← β₃m₂ + (1 − β₃)g;  v ← β₂v + (1 − β₂)g²;  "
        "w ← w − η·(m₁/(1 − β₁ᵗ) + α·m₂)/(√(v/(1 − β₂ᵗ)) + ε)  (α и β₃ нарастают за t_alpha_beta3 шагов)"
    ),
    "adopt": (
        "g̃ ← clip(g/max(√v, ε), ±t^¼);  m ← β₁m + (1 − β₁)g̃;  w ← w − η·m;  "
        "затем v ← β₂v + (1 − β₂)g²  (вначале v = g₁²)"
    ),
    "adabound": (
        "ηₜ = η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)/(√v + ε), зажатый в [η*(1 − 1/(γt + 1)), η*(1 + 1/(γt))], "
        "η* = final_lr·η/η₀;  w ← w − ηₜ·m"
    ),
    "diffgrad": "ξ = σ(|g₋ − g|) (σ — логистическая функция);  w ← w − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · ξ·m/(√v + ε)",
    "qhadam": (
        "m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²  (оба с поправкой смещения);  "
        "w ← w − η·((1 − ν₁)g + ν₁m)/(√((1 − ν₂)g² + ν₂v) + ε)"
    ),
    "apollo": (
        "m ← m + α(g − m), α = (1 − β)/(1 − βᵗ);  B ← B + (слабое условие секущей на последнем шаге d, "
        "нормированном на ‖d‖₄)·d²;  d ← m/max(|B|, 0.01);  w ← w − ηₜ·d  "
        "(ηₜ растёт от init_lr до η за warmup_steps шагов)"
    ),
    "ranger": (
        "шаги RAdam по быстрым весам w (шаги импульса w ← w − η·m̂, пока ρₜ < 5);  каждые k шагов: "
        "slow ← slow + α(w − slow), w ← slow (Lookahead);  use_gc: градиенты матриц сначала центрируются"
    ),
    "aggmo": (
        "bᵢ ← βᵢbᵢ + g для каждого βᵢ из betas;  w ← w − (η/3)·Σᵢ bᵢ  (буферы привязаны к значениям β: "
        "расписание, меняющее β₁, отклоняется)"
    ),
    "novograd": "v ← β₂v + (1 − β₂)‖g‖² (одно число на тензор);  m ← β₁m + g/(√v + ε);  w ← w − η·m",
}

SCHEDULE_DESCRIPTIONS = {
    "constant": "lr не меняется.",
    "step": "Умножать lr на γ каждые step_size шагов.",
    "multistep": "Умножать lr на γ на каждой вехе.",
    "exponential": "Умножать lr на γ на каждом шаге.",
    "cosine": "Половина косинуса от η₀ вниз до η_min за T_max шагов.",
    "cosine_warm_restarts": "Косинусный отжиг, который при каждом перезапуске возвращается к η₀.",
    "onecycle": "Политика одного цикла: разогрев, затем отжиг на протяжении всего запуска.",
    "linear": "Линейный разогрев (или спад) lr за total_iters шагов.",
    "polynomial": "Полиномиальный спад до нуля за total_iters шагов.",
    "inverse_power": (
        "Убывающий шаг из курса (LambdaLR). При 1/2 < p ≤ 1 он выполняет условия Роббинса–Монро "
        "Σηᵢ = ∞, Σηᵢ² < ∞; p = 0.3 по умолчанию убывает медленнее."
    ),
    "cyclic": "Циклическая скорость обучения.",
    "plateau": "Уменьшать lr, когда потери перестают улучшаться (шаг делается по потерям).",
}

# ---- what each keyword means: English description -> Russian ---------------------------------

KEYWORDS = {
    "learning rate η": "скорость обучения η",
    "momentum factor μ": "коэффициент импульса μ",
    "dampening for momentum τ": "демпфирование импульса τ",
    "weight decay (L2 penalty) λ": "затухание весов (штраф L2) λ",
    "use Nesterov momentum": "импульс Нестерова",
    "learning-rate decay per step": "убывание скорости обучения за шаг",
    "initial value of the sum of squared gradients": "начальное значение суммы квадратов градиентов",
    "term added to the denominator ε": "добавка к знаменателю ε",
    "smoothing constant α of the squared-gradient average": (
        "константа сглаживания α среднего квадратов градиентов"
    ),
    "normalise by the estimated variance of the gradient": "нормировать на оценку дисперсии градиента",
    "coefficients (β₁, β₂) of the running averages": "коэффициенты (β₁, β₂) скользящих средних",
    "use the AMSGrad variant (max of past second moments)": (
        "вариант AMSGrad (максимум прошлых вторых моментов)"
    ),
    "decay weights directly, as AdamW does": "уменьшать сами веса, как AdamW",
    "momentum decay ψ": "убывание импульса ψ",
    "coefficient ρ of the running averages": "коэффициент ρ скользящих средних",
    "(η₋, η₊): step-size factors on a sign flip / no flip": (
        "(η₋, η₊): множители шага при смене знака / без неё"
    ),
    "(minimal, maximal) allowed step size": "(наименьший, наибольший) допустимый шаг",
    "decay term λ": "член затухания λ",
    "power α of the η update": "степень α в обновлении η",
    "step at which averaging starts": "шаг, с которого начинается усреднение",
    "decay rate of β₂ (β₂ₜ = 1 − t^beta2_decay)": "скорость убывания β₂ (β₂ₜ = 1 − t^beta2_decay)",
    "(ε₁, ε₂): ε₁ in the denominator (None: from the dtype), ε₂ scale floor": (
        "(ε₁, ε₂): ε₁ в знаменателе (None: по типу данных), ε₂ — нижняя граница масштаба"
    ),
    "clipping threshold of the update's RMS": "порог обрезки RMS обновления",
    "iterations per optimizer step": "итераций на шаг оптимизатора",
    "function evaluations per step (default max_iter × 1.25)": (
        "вычислений функции на шаг (по умолчанию max_iter × 1.25)"
    ),
    "stop when ‖∇L‖∞ is below this": "остановиться, когда ‖∇L‖∞ меньше этого",
    "stop when the change is below this": "остановиться, когда изменение меньше этого",
    "update history size": "длина истории обновлений",
    "line search (None or 'strong_wolfe')": "линейный поиск (None или 'strong_wolfe')",
    "decay every step_size steps": "уменьшать каждые step_size шагов",
    "multiplicative factor γ of the decay": "множитель убывания γ",
    "steps at which the lr is multiplied by γ": "шаги, на которых lr умножается на γ",
    "lr multiplied by γ every step": "lr умножается на γ на каждом шаге",
    "steps of half a cosine period (null: the whole run)": (
        "шагов в половине периода косинуса (null: весь запуск)"
    ),
    "smallest learning rate": "наименьшая скорость обучения",
    "steps until the first restart": "шагов до первого перезапуска",
    "factor by which the period grows after a restart": "во сколько раз период растёт после перезапуска",
    "peak learning rate (null: the optimizer's lr)": "наибольшая скорость обучения (null: lr оптимизатора)",
    "fraction of the run spent increasing the lr": "доля запуска, за которую lr растёт",
    "annealing shape": "форма спада",
    "cycle momentum (or β₁) inversely to the lr; needs an optimizer with momentum": (
        "менять импульс (или β₁) противоположно lr; нужен оптимизатор с импульсом"
    ),
    "lowest momentum of the cycle": "наименьший импульс цикла",
    "highest momentum of the cycle": "наибольший импульс цикла",
    "initial lr = max_lr / div_factor": "начальный lr = max_lr / div_factor",
    "final lr = initial lr / final_div_factor": "итоговый lr = начальный lr / final_div_factor",
    "a third phase annihilates the lr": "третья фаза сводит lr почти к нулю",
    "lr multiplier at the first step": "множитель lr на первом шаге",
    "lr multiplier after total_iters steps": "множитель lr после total_iters шагов",
    "steps the schedule takes to reach its end": "шагов, за которые расписание доходит до конца",
    "power of the polynomial": "степень многочлена",
    "exponent p": "показатель p",
    "lowest learning rate of the cycle (null: the optimizer's lr / 10)": (
        "наименьшая скорость обучения цикла (null: lr оптимизатора / 10)"
    ),
    "steps in the increasing half of a cycle": "шагов в растущей половине цикла",
    "steps in the decreasing half (null: step_size_up)": "шагов в убывающей половине (null: step_size_up)",
    "cycle shape": "форма цикла",
    "decay of exp_range": "убывание в режиме exp_range",
    "scale per cycle or per step": "масштаб по циклам или по шагам",
    "minimise the monitored loss": "минимизировать отслеживаемые потери",
    "factor by which the lr is reduced": "во сколько раз уменьшается lr",
    "steps without improvement before reducing": "шагов без улучшения до уменьшения",
    "improvement smaller than this does not count": "улучшение меньше этого не считается",
    "relative or absolute threshold": "относительный или абсолютный порог",
    "steps to wait after a reduction": "шагов ожидания после уменьшения",
    "lower bound on the lr": "нижняя граница lr",
    "smallest change of lr that is applied": "наименьшее изменение lr, которое применяется",
    # the community's (backend/optim/community.py)
    "(β₁, β₂): blend of momentum and g in the step, decay of the momentum": (
        "(β₁, β₂): смесь момента и g в шаге, затухание момента"
    ),
    "decay the weights directly (AdamW) instead of adding λw to g": (
        "уменьшать сами веса (как AdamW), а не добавлять λw к g"
    ),
    "decoupled decay not scaled by the learning rate (w ← w(1 − λ))": (
        "развязанное затухание без умножения на скорость обучения (w ← w(1 − λ))"
    ),
    "(β₁, β₂, β₃): averages of g, of g − g₋ and of the squared corrected gradient": (
        "(β₁, β₂, β₃): средние g, g − g₋ и квадрата поправленного градиента"
    ),
    "clip the gradients to this norm of all of them together (0: off)": (
        "обрезать градиенты до этой общей нормы всех сразу (0: выкл.)"
    ),
    "RAdam's rectification of the early steps": "выпрямление первых шагов, как в RAdam",
    "length ρₜ of the moving average below which rectified steps skip the denominator": (
        "длина ρₜ скользящего среднего, ниже которой выпрямленные шаги обходятся без знаменателя"
    ),
    "below the threshold, take momentum steps instead of none": (
        "ниже порога делать шаги импульса, а не стоять"
    ),
    "divide by the running maximum of the second moment (AMSGrad)": (
        "делить на накопленный максимум второго момента (AMSGrad)"
    ),
    "decay β₃ of the distance estimate (None: √β₂)": "затухание β₃ оценки расстояния (None: √β₂)",
    "initial estimate d₀ of the distance to the solution": "начальная оценка d₀ расстояния до решения",
    "factor on the estimate of d": "множитель при оценке d",
    "largest factor d may grow by in one step (None: unbounded)": (
        "во сколько раз d может вырасти за шаг (None: без ограничения)"
    ),
    "bias-correct the moments, as Adam does": "поправка смещения моментов, как в Adam",
    "leave the lr out of the estimate's denominator during warmup": (
        "не учитывать lr в знаменателе оценки во время разогрева"
    ),
    "term added to the denominator ε (None: atan2 update, no ε)": (
        "добавка к знаменателю ε (None: обновление через atan2, без ε)"
    ),
    "power r of the step weight tʳ in the average x": "степень r веса шага tʳ в среднем x",
    "power of the largest lr so far in the average's weights (0: off)": (
        "степень наибольшего lr до сих пор в весах среднего (0: выкл.)"
    ),
    "steps of linear learning-rate warmup": "шагов линейного разогрева скорости обучения",
    "scale c of the averaging weight, cₜ ← min(1, cₜ(1 − β₁)c) (0: off)": (
        "масштаб c веса усреднения, cₜ ← min(1, cₜ(1 − β₁)c) (0: выкл.)"
    ),
    "interpolation μ of y between z and x": "положение μ точки y между z и x",
    "no step while ρₜ ≤ 4 (false: steps of size 1 meanwhile, as the package does)": (
        "не шагать, пока ρₜ ≤ 4 (false: тем временем шаги размера 1, как в пакете)"
    ),
    "scale the new gradient by (1 − β₁) in the first moment": (
        "умножать новый градиент на (1 − β₁) в первом моменте"
    ),
    "reference norm of the gradients when pre_norm (0: off)": (
        "опорная норма градиентов при pre_norm (0: выкл.)"
    ),
    "trust ratio 1, i.e. plain Adam steps": "trust ratio равен 1, то есть обычные шаги Adam",
    "divide the gradients by their global norm (max_grad_norm) first": (
        "сначала делить градиенты на их общую норму (max_grad_norm)"
    ),
    "(β₁, β₂, β₃): fast momentum, second moment, slow momentum": (
        "(β₁, β₂, β₃): быстрый момент, второй момент, медленный момент"
    ),
    "weight α of the slow momentum": "вес α медленного момента",
    "steps over which α and β₃ ramp up (None: no warmup)": "шагов, за которые нарастают α и β₃ (None: сразу)",
    "initial value of both moments": "начальное значение обоих моментов",
    "SGD learning rate the bounds close in on": "скорость SGD, к которой сходятся границы",
    "speed γ at which the bounds close in": "скорость γ сужения границ",
    "(ν₁, ν₂): weights of the averages against the current g and g²": (
        "(ν₁, ν₂): веса средних против текущих g и g²"
    ),
    "steps of averaging before the centred second moment is used": (
        "шагов усреднения до перехода на центрированный второй момент"
    ),
    "decay rate β of the gradient's momentum": "затухание β момента градиента",
    "learning rate at the start of the warmup (None: lr / 1000)": (
        "скорость обучения в начале разогрева (None: lr / 1000)"
    ),
    "decay rate β of the gradient average": "затухание β среднего градиента",
    "floor on the curvature |B|: 'constant' (0.01) or 'belief' (‖Δg‖∞)": (
        "нижняя граница кривизны |B|: 'constant' (0.01) или 'belief' (‖Δg‖∞)"
    ),
    "weight decay: 'l2' (in g), 'decoupled' or 'stable' (scaled by 1/mean|B|)": (
        "затухание весов: 'l2' (в g), 'decoupled' или 'stable' (с множителем 1/mean|B|)"
    ),
    "steps of linear warmup from init_lr to lr": "шагов линейного разогрева от init_lr до lr",
    "Lookahead: fraction α the slow weights move toward the fast": (
        "Lookahead: доля α, на которую медленные веса сдвигаются к быстрым"
    ),
    "Lookahead: steps between two syncs of the slow weights": (
        "Lookahead: шагов между синхронизациями медленных весов"
    ),
    "below the threshold, take momentum steps, as the original Ranger does (true here: with the "
    "package's default, false, it steps uphill there)": (
        "ниже порога делать шаги импульса, как исходный Ranger (здесь true: с умолчанием пакета, "
        "false, он там шагает в гору)"
    ),
    "gradient centralisation (subtract each row's mean; matrices only)": (
        "централизация градиента (вычесть среднее каждой строки; только для матриц)"
    ),
    "centralise only convolution kernels": "централизовать только ядра свёрток",
    "the momentum factors of the three buffers": "коэффициенты импульса трёх буферов",
    "weight ν of the momentum against the current gradient": "вес ν момента против текущего градиента",
    "gain K_d of the gradient-change (D) term": (
        "коэффициент K_d дифференциальной части (изменение градиента)"
    ),
    "gain K_i of the accumulated-gradient (I) term": (
        "коэффициент K_i интегральной части (накопленный градиент)"
    ),
    "partial adaptivity p: divide by (√v)^{2p} (½: Adam, → 0: SGD)": (
        "частичная адаптивность p: делить на (√v)^{2p} (½: Adam, → 0: SGD)"
    ),
    "(β₁, β₂, β₃): first and second moments, average of the step sizes": (
        "(β₁, β₂, β₃): первый и второй моменты, среднее размеров шага"
    ),
}

# ---- datasets and models: id -> name, id -> description ---------------------------------------

DATASET_NAMES = {
    "linear_regression": "Линейная регрессия",
    "moons": "Две луны",
    "circles": "Круги",
    "spirals": "Спирали",
    "xor": "XOR",
    "blobs": "Гауссовы облака",
    "digits": "Цифры (8×8)",
    "csv": "Свой CSV",
}

DATASET_DESCRIPTIONS = {
    "linear_regression": "Пример из курса: два коррелированных признака, y = 2·x₀ − x₁ + шум.",
    "moons": "Два вложенных друг в друга полукруга.",
    "circles": "Маленький круг внутри большого.",
    "spirals": "Две переплетённые спирали: трудно для маленького MLP.",
    "xor": "Четыре квадранта, противоположные — одного класса: никакая прямая их не разделит.",
    "blobs": "Три гауссовых облака, три класса.",
    "digits": (
        "Настоящие данные: 1 797 рукописных цифр по 8×8 пикселей (копия из scikit-learn), 10 классов, "
        "пиксели приведены к [0, 1]."
    ),
    "csv": (
        "Своя числовая таблица: до {max_samples} строк и 64 столбцов-признаков, последний столбец — цель "
        "(целое с ≤ 20 значениями: классы; иначе регрессия)."
    ),
}

MODEL_NAMES = {
    "linear": "Линейная регрессия",
    "logistic": "Логистическая регрессия",
    "mlp": "MLP",
    "cnn": "Маленькая CNN",
}

MODEL_DESCRIPTIONS = {
    "linear": "ŷ = wᵀx + b, среднеквадратичная ошибка.",
    "logistic": "Вероятности классов softmax(Wx + b), перекрёстная энтропия.",
    "mlp": "Полносвязные слои заданной ширины с функцией активации между ними.",
    "cnn": (
        "На каждый элемент hidden — свёртка 3×3 с таким числом каналов, активация и max-pooling 2×2; "
        "затем линейный слой."
    ),
}
