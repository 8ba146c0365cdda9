// Ready lessons of the networks page, one per course topic: a partial scene over the
// defaults (so the URL carries it like any other settings), the bottom tab to show, and a
// card in English and Russian: a few paragraphs and what to try. Dataset, model, optimizer
// and schedule ids refer to the API's catalogues. Every scene was trained on the real
// server; the texts describe what it does there, and each number of a result is filled
// from the runs the student trains (`runs`: the lesson's runs, lessonvalues.js).

import { fill, h, template } from "../shared/dom.js";
import { t } from "../shared/i18n.js";
import { createLessons, driftNotice, offersSetup, setupNotice } from "../shared/lessons.js";
import { bareLesson, defaultScene } from "./codec.js";
import { lessonValues } from "./lessonvalues.js";
import { setRuntime, setScene, state } from "./state.js";

export const LESSONS = [
  {
    id: "gd_stopping",
    title: { en: "1 · Gradient descent and when to stop", ru: "1 · Градиентный спуск и когда остановиться" },
    scene: {
      ds: "linear_regression", model: "linear", opt: "sgd", hp: { lr: 0.1, momentum: 0 },
      batch: 1000, epochs: 300, es: false, stopw: 0.001, ls: true, dirs: "pca", res: 21,
    },
    tab: "landscape",
    // SGD's run counts under either stopping rule (the card asks for it after the second).
    runs: { gd: {}, grad: { stopw: null, stopg: 0.01 }, sgd: { batch: 1, same: ["dataset", "model", "optimizer", "batch_size", "epochs", "split", "seed"] } },
    text: {
      en: [
        "Gradient descent on the course's linear regression: every step uses the whole training split, w_j = w_(j−1) − η·∇L(w_(j−1)) with η = 0.1. When to stop? The course gives three rules: the step has become small, ‖w_j − w_(j−1)‖ < ε; the gradient has become small, ‖∇L(w)‖ < ε; or, the rule of deep learning, the validation loss has stopped falling (lesson 4).",
        "Here ε = 0.001 on the step. The loss is a quadratic bowl, so GD's steps shrink geometrically towards its bottom and the rule holds at step {gd.converged_at_step}, with the test loss ({gd.test_loss}) near the noise floor. For GD the two rules are one: the step is η·∇L, so ‖w_j − w_(j−1)‖ < ε is ‖∇L‖ < ε/η.",
        "A mini-batch gradient is a noisy estimate of ∇L: near the minimum it does not shrink to zero, so a mini-batch of 32 never meets the rule. A single sample's gradient, on the other hand, can be tiny by chance far from the minimum: SGD then “converges” after a few dozen steps with a clearly worse loss. That is why deep learning stops on the validation loss instead.",
      ],
      ru: [
        "Градиентный спуск на линейной регрессии из курса: каждый шаг по всей обучающей выборке, w_j = w_(j−1) − η·∇L(w_(j−1)) с η = 0.1. Когда остановиться? В курсе три правила: шаг стал мал, ‖w_j − w_(j−1)‖ < ε; градиент стал мал, ‖∇L(w)‖ < ε; или, правило глубокого обучения, потери на валидации перестали падать (урок 4).",
        "Здесь ε = 0.001 для шага. Функция потерь — квадратичная чаша, шаги GD убывают как геометрическая прогрессия к её дну, и правило выполняется на шаге {gd.converged_at_step}, а потери на тесте ({gd.test_loss}) близки к уровню шума. Для GD эти два правила — одно: шаг равен η·∇L, так что ‖w_j − w_(j−1)‖ < ε — это ‖∇L‖ < ε/η.",
        "Градиент по мини-батчу — шумная оценка ∇L: у минимума он не стремится к нулю, и мини-батч из 32 правило не выполняет никогда. А градиент одного объекта может случайно оказаться крошечным вдали от минимума: тогда SGD «сходится» за несколько десятков шагов с заметно худшими потерями. Поэтому в глубоком обучении останавливаются по потерям на валидации.",
      ],
    },
    try: {
      en: [
        "Train: “converged” at step {gd.converged_at_step}; the mark on the curves is where the rule held, and the result card names it. The landscape shows GD's path down the bowl.",
        "Clear ‖w − w_prev‖ and set ‖∇L‖ < 0.01 instead (ε/η = 0.001/0.1): it converges at step {grad.converged_at_step}, the same step.",
        "Press “mini-batch (32)” under Training and train: all 300 epochs run, the rule never holds.",
        "Press “SGD (1)” and train: it stops at step {sgd.converged_at_step}, in the first epoch, with a test loss of {sgd.test_loss} against GD's {gd.test_loss}.",
      ],
      ru: [
        "Обучите: «сошёлся» на шаге {gd.converged_at_step}; метка на кривых — где выполнилось правило, карточка итога называет его. Ландшафт показывает путь GD по чаше вниз.",
        "Очистите ‖w − w_пред‖ и задайте вместо него ‖∇L‖ < 0.01 (ε/η = 0.001/0.1): сходимость на шаге {grad.converged_at_step}, том же самом.",
        "Нажмите «мини-батч (32)» в разделе «Обучение» и обучите: пройдут все 300 эпох, правило не выполнится.",
        "Нажмите «SGD (1)» и обучите: остановка на шаге {sgd.converged_at_step}, ещё в первой эпохе, и потери на тесте {sgd.test_loss} против {gd.test_loss} у GD.",
      ],
    },
  },
  {
    id: "gd_sgd_minibatch",
    title: { en: "2 · GD vs SGD vs mini-batch", ru: "2 · GD, SGD и мини-батчи" },
    scene: {
      ds: "linear_regression", n: 200, model: "linear", opt: "sgd", hp: { lr: 0.1, momentum: 0 },
      batch: 120, epochs: 40, shuffle: true, es: false, ls: true, dirs: "pca", res: 21,
    },
    tab: "compare",
    runs: { gd: {}, sgd: { batch: 1 } },
    text: {
      en: [
        "The course's linear regression: L(w) = (1/n)·Σ (y_i − x_iᵀw)², two correlated features, plain SGD with η = 0.1 as on the slides. One epoch is one pass over the {n_train} training samples; batch_size decides how many steps that pass takes.",
        "batch_size = n_train = {n_train} is gradient descent: every step uses all samples, one step per epoch, O(n) work per step. batch_size = 1 is SGD: {n_train} steps per epoch, O(1) each, but each gradient is a one-sample guess, so the batch loss is noisy and with a constant η the weights keep jumping around the minimum. A mini-batch of 32 ({mini_steps} steps per epoch) sits in between.",
        "With shuffling on, the samples are dealt into new batches before every epoch. All three gradients are unbiased estimates of the same ∇L; only their noise differs.",
      ],
      ru: [
        "Линейная регрессия из курса: L(w) = (1/n)·Σ (y_i − x_iᵀw)², два коррелированных признака, обычный SGD с η = 0.1, как на слайдах. Эпоха — один проход по {n_train} обучающим объектам; batch_size решает, за сколько шагов он делается.",
        "batch_size = n_train = {n_train} — это градиентный спуск: каждый шаг по всем объектам, один шаг за эпоху, O(n) работы на шаг. batch_size = 1 — это SGD: {n_train} шагов за эпоху по O(1), но градиент оценён по одному объекту, потери батча шумят, и при постоянном η веса всё время прыгают вокруг минимума. Мини-батч из 32 ({mini_steps} шагов за эпоху) — посередине.",
        "С перемешиванием объекты перед каждой эпохой заново раскладываются по батчам. Все три градиента — несмещённые оценки одного ∇L; отличается только шум.",
      ],
    },
    try: {
      en: [
        "Train (GD): {gd.steps} steps; the batch loss is as smooth as the train curve.",
        "Press “SGD (1)” under Training and train: {sgd.steps} noisy steps, and a train loss that still jumps at the end.",
        "Press “mini-batch (32)” and train. In Compare runs the three runs are ticked: press Compare paths to see the three paths from one start on one plane.",
        "Untick shuffling with batch 32: every epoch now takes the same {mini_steps} batches.",
      ],
      ru: [
        "Обучите (GD): {gd.steps} шагов; потери батча так же гладки, как кривая обучения.",
        "Нажмите «SGD (1)» в разделе «Обучение» и обучите: {sgd.steps} шумных шагов, и потери на обучении прыгают до самого конца.",
        "Нажмите «мини-батч (32)» и обучите. Во вкладке «Сравнить запуски» три запуска уже отмечены: «Сравнить пути» покажет три пути из одного старта на одной плоскости.",
        "Снимите перемешивание при батче 32: каждая эпоха теперь идёт по тем же {mini_steps} батчам.",
      ],
    },
  },
  {
    id: "learning_rate",
    title: { en: "3 · Learning rate: too large, too small, decaying", ru: "3 · Скорость обучения: велика, мала, убывает" },
    scene: { ds: "linear_regression", model: "linear", opt: "sgd", hp: { lr: 1.5, momentum: 0 }, batch: 32, epochs: 40, es: false, ls: false },
    tab: "landscape",
    runs: { data: { same: ["dataset", "model", "split", "seed"] }, small: { hp: { lr: 0.001, momentum: 0 } } },
    text: {
      en: [
        "The course's linear regression, L(w) = 1/n Σ (yᵢ − xᵢᵀw)², trained by plain mini-batch SGD. The loss is a quadratic bowl, so the step w ← w − η·∇L is stable only while η is below 2 / λ_max of its Hessian; above that every step overshoots further than the last. The result card shows both: here λ_max = {data.sharpness}, so 2/λ_max = {data.stable_lr}.",
        "η = 1.5 is above that bound: within the first epochs the weights grow without limit, the loss stops being a finite number and the run ends with status “diverged” — a result, not a crash; the result card says at which step.",
        "The course's decaying step η_t = η₀ / t^p is the lr schedule InversePowerLR; this page steps it once per epoch, so t is the epoch. Robbins–Monro ask for Σ η_t = ∞ (the steps can still reach the minimum) and Σ η_t² < ∞ (SGD's noise dies out). Both hold for 1/2 < p ≤ 1; the course's p = 0.3 meets the first but not the second: the step shrinks slowly.",
      ],
      ru: [
        "Линейная регрессия из курса, L(w) = 1/n Σ (yᵢ − xᵢᵀw)², обучается обычным SGD по мини-батчам. Функция потерь — квадратичная чаша, поэтому шаг w ← w − η·∇L устойчив, только пока η меньше 2 / λ_max её гессиана; выше каждый шаг перелетает дальше предыдущего. Карточка итога показывает оба числа: здесь λ_max = {data.sharpness}, так что 2/λ_max = {data.stable_lr}.",
        "η = 1.5 выше этой границы: за первые эпохи веса неограниченно растут, потери перестают быть конечным числом, и запуск заканчивается статусом «разошёлся» — это результат, а не сбой; карточка итога пишет, на каком шаге.",
        "Убывающий шаг из курса η_t = η₀ / t^p — это расписание lr InversePowerLR; здесь оно делает шаг раз в эпоху, так что t — номер эпохи. Условия Роббинса–Монро: Σ η_t = ∞ (шаги ещё могут дойти до минимума) и Σ η_t² < ∞ (шум SGD затухает). Оба выполняются при 1/2 < p ≤ 1; p = 0.3 из курса выполняет первое, но не второе: шаг убывает медленно.",
      ],
    },
    try: {
      en: [
        "Train as set: diverged; the curves end at the step where the loss blew up.",
        "lr = 0.001: after 40 epochs the test loss, {small.test_loss}, is still far above the noise floor (σ² = {noise_floor} for the noise σ = {noise}): too small.",
        "lr = 0.5: below the bound, but the mini-batch loss keeps bouncing and the final weights land wherever the last batches threw them.",
        "Keep lr = 0.5 and choose the lr schedule InversePowerLR with power 0.3: the lr plot falls as 1/t^0.3, the bouncing dies down and the test loss ends near the floor. Try power 0.75 too.",
      ],
      ru: [
        "Обучите как есть: «разошёлся»; кривые обрываются на шаге, где потери взорвались.",
        "lr = 0.001: через 40 эпох потери на тесте, {small.test_loss}, всё ещё намного выше уровня шума (σ² = {noise_floor} при шуме σ = {noise}): слишком мало.",
        "lr = 0.5: ниже границы, но потери на мини-батчах продолжают скакать, и итоговые веса оказываются там, куда их бросили последние батчи.",
        "Оставьте lr = 0.5 и выберите расписание lr InversePowerLR с power 0.3: график lr падает как 1/t^0.3, скачки затухают, и потери на тесте в конце близки к уровню шума. Попробуйте и power 0.75.",
      ],
    },
  },
  {
    id: "early_stopping",
    title: { en: "4 · Early stopping and the test set", ru: "4 · Ранняя остановка и тестовая выборка" },
    scene: {
      ds: "moons", n: 150, noise: 0.35, hidden: "128,128", act: "tanh", opt: "adam", hp: { lr: 0.01 },
      batch: 16, epochs: 300, es: true, patience: 20, min_delta: 0, restore: true, ls: false,
    },
    tab: "landscape",
    text: {
      en: [
        "{n_samples} noisy points ({n_train} for training) and a network with hidden widths {hidden}, {parameters} weights: far more than the data can pin down. The training loss keeps falling towards zero as the network memorises the noise. The training split cannot show this; the validation split, which the optimizer never sees, can: its loss falls, then turns up.",
        "Early stopping checks the validation loss after every epoch and stops once it has not improved (by more than min_delta) for patience epochs; “restore best weights” then goes back to the best epoch. The number of epochs becomes a hyperparameter chosen on validation.",
        "The test split is evaluated once, after training. If it helped choose the epoch, the lr or the width, the choice would be fitted to those {n_test} samples and the test score would stop being an honest estimate for new data. Choosing is the validation split's job: validation, not test.",
      ],
      ru: [
        "{n_samples} зашумлённых точек ({n_train} для обучения) и сеть со скрытыми слоями {hidden}, {parameters} весов: гораздо больше, чем данные могут определить. Потери на обучении падают к нулю — сеть запоминает шум. Обучающая выборка этого не покажет; покажет валидационная, которую оптимизатор не видит: её потери падают, а потом растут.",
        "Ранняя остановка после каждой эпохи смотрит на потери на валидации и останавливает обучение, если они patience эпох не улучшались (больше чем на min_delta); «вернуть лучшие веса» возвращает лучшую эпоху. Число эпох становится гиперпараметром, выбранным по валидации.",
        "Тестовая выборка оценивается один раз, после обучения. Если бы по ней выбирали эпоху, lr или ширину, выбор подогнался бы под эти {n_test} объектов, и оценка на тесте перестала бы быть честной оценкой на новых данных. Выбирать — дело валидации: ВАЖНО использовать валидацию, а не тест.",
      ],
    },
    try: {
      en: [
        "Train: the val curve bottoms out at the best-epoch line and climbs until patience runs out at the stop line.",
        "Untick early stopping and train all 300 epochs: the train loss goes to almost zero, the val loss ends far above its best, and the test loss is worse.",
        "Untick “restore best weights”: the result is the last epoch's weights, not the best.",
        "Try patience 5 or 50, or hidden widths 8.",
      ],
      ru: [
        "Обучите: кривая валидации достигает дна у линии лучшей эпохи и растёт, пока не кончится patience, до линии остановки.",
        "Снимите раннюю остановку и обучите все 300 эпох: потери на обучении почти нулевые, на валидации — намного выше лучших, и на тесте хуже.",
        "Снимите «вернуть лучшие веса»: итог — веса последней эпохи, а не лучшей.",
        "Попробуйте patience 5 или 50, или ширины слоёв 8.",
      ],
    },
  },
  {
    id: "momentum_adam",
    title: { en: "5 · Momentum, RMSprop and Adam on a network", ru: "5 · Импульс, RMSprop и Adam на сети" },
    scene: {
      ds: "spirals", hidden: "64,64", act: "relu", opt: "sgd", hp: { lr: 0.1, momentum: 0 },
      batch: 32, epochs: 100, es: false, ls: true, dirs: "pca",
    },
    tab: "compare",
    runs: { sgd: {} },
    text: {
      en: [
        "Two spirals are hard for plain SGD: with η = 0.1, after 100 epochs its test accuracy is {sgd.test_accuracy}, not far from a coin toss. Momentum keeps a running sum b ← μ·b + ∇L and steps w ← w − η·b, so where gradients agree the step grows up to 1/(1 − μ) times (10 times for μ = 0.9). RMSprop divides each weight's step by the root of a running average of its squared gradients; Adam does both, with torch's bias correction.",
        "Every run here has the same seed, data and split, so all start from the same initial weights. Compare runs projects their paths onto one plane (PCA of all their checkpoints) over the loss around them. The line between two runs' final weights shows whether they ended in one valley: a bump between α = 0 and α = 1 is a barrier.",
      ],
      ru: [
        "Две спирали трудны для обычного SGD: с η = 0.1 после 100 эпох его точность на тесте {sgd.test_accuracy}, недалеко от подбрасывания монеты. Импульс копит сумму b ← μ·b + ∇L и шагает w ← w − η·b: где градиенты согласны, шаг растёт до 1/(1 − μ) раз (в 10 раз при μ = 0.9). RMSprop делит шаг каждого веса на корень скользящего среднего квадратов его градиентов; Adam делает и то и другое, с поправкой смещения, как в torch.",
        "У всех запусков здесь один seed, одни данные и разбиение, поэтому все стартуют из одних начальных весов. «Сравнить запуски» проецирует их пути на одну плоскость (PCA всех их контрольных точек) поверх потерь вокруг. Прямая между итоговыми весами двух запусков показывает, в одной ли они долине: горб между α = 0 и α = 1 — это барьер.",
      ],
    },
    try: {
      en: [
        "Train plain SGD as set.",
        "Set momentum = 0.9 and train again: same lr, far lower loss.",
        "Choose Adam with lr = 0.003 and train (RMSprop with lr = 0.003 too, if you like).",
        "In Compare runs the runs are ticked: press Compare paths. Then tick just two and press Interpolate between two.",
      ],
      ru: [
        "Обучите обычный SGD как есть.",
        "Поставьте momentum = 0.9 и обучите снова: тот же lr, потери намного ниже.",
        "Выберите Adam с lr = 0.003 и обучите (и RMSprop с lr = 0.003, если хотите).",
        "Во вкладке «Сравнить запуски» запуски отмечены: нажмите «Сравнить пути». Потом оставьте отмеченными два и нажмите «Интерполировать между двумя».",
      ],
    },
  },
  {
    id: "landscape_pictures",
    title: { en: "6 · Pictures of the loss landscape", ru: "6 · Картинки ландшафта потерь" },
    scene: { ds: "moons", opt: "sgd", hp: { lr: 0.1, momentum: 0.9 }, epochs: 40, es: false, ls: true, dirs: "random", res: 31, span: 1, fnorm: true },
    tab: "landscape",
    text: {
      en: [
        "This network has {parameters} weights; a picture has two axes. Li et al. (2018) draw L(w* + a·u + b·v) around the final weights w* along two directions u and v. Random directions are filter-normalised: each row of a layer's weight matrix in u is scaled to the norm of the same row of w*, biases left out, so a step of 1 means the same in every layer and every network.",
        "A random plane shows the valley around the result but not the path: in {parameters} dimensions it is almost orthogonal to where the weights went, so the projected path huddles at the centre. PCA of the path (checkpoints minus w*) picks the plane the path moves in most, and its explained variance says how much it holds. The top two Hessian eigenvectors are the directions of sharpest curvature at w*.",
        "“Is the slice faithful?” checks each checkpoint: its residual is the part of its offset from w* that lies off the plane (0: on it, 1: orthogonal to it), shown beside its true loss and the slice's loss at its projection. Where the residual is large, the picture is not the loss the run went through.",
      ],
      ru: [
        "У этой сети {parameters} весов, у картинки — две оси. Li et al. (2018) рисуют L(w* + a·u + b·v) вокруг итоговых весов w* вдоль двух направлений u и v. Случайные направления нормируются по фильтрам: каждая строка матрицы весов слоя в u масштабируется до нормы той же строки w*, смещения не учитываются, так что шаг 1 значит одно и то же в каждом слое и в любой сети.",
        "Случайная плоскость показывает долину вокруг результата, но не путь: в {parameters} измерениях она почти ортогональна тому, куда шли веса, и проекция пути жмётся к центру. PCA траектории (контрольные точки минус w*) выбирает плоскость, в которой путь движется больше всего; объяснённая дисперсия говорит, сколько пути она вмещает. Два старших собственных вектора гессиана — направления наибольшей кривизны в w*.",
        "«Верен ли срез?» проверяет каждую контрольную точку: невязка — доля её смещения от w*, лежащая вне плоскости (0 — на плоскости, 1 — ортогонально ей), рядом — её истинные потери и потери среза в её проекции. Где невязка велика, картинка — не те потери, через которые прошёл запуск.",
      ],
    },
    try: {
      en: [
        "Train with random directions: a clean valley, the path bunched at the centre, and in “Is the slice faithful?” residuals close to 1.",
        "Set directions to PCA of the path and train: the path spreads over the plane, the notes give the explained variance, and the residuals drop.",
        "Set directions to Hessian eigenvectors and train: the notes give λ₁ and λ₂ (largest first); the contours are tightest along a.",
        "With random directions, untick filter_normalize, or change the span, and compare the scales.",
      ],
      ru: [
        "Обучите со случайными направлениями: ровная долина, путь собран в центре, а во вкладке «Верен ли срез?» невязки близки к 1.",
        "Выберите направления «PCA траектории» и обучите: путь расходится по плоскости, в заметках — объяснённая дисперсия, невязки падают.",
        "Выберите «собственные векторы гессиана» и обучите: в заметках λ₁ и λ₂ (сначала наибольшее); изолинии гуще всего вдоль a.",
        "Со случайными направлениями снимите filter_normalize или измените размах и сравните масштабы.",
      ],
    },
  },
];

/** A lesson opens over the default settings, keeping language and display, on its bottom tab. */
export const { findLesson, applyLesson, restoreSetup, createMenu: createLessonMenu } = createLessons(LESSONS, { state, setScene, setRuntime }, (lesson, { lang, proj, cb }) => ({
  scene: { ...defaultScene(), ...lesson.scene, lang, proj, cb },
  runtime: { tab: lesson.tab, formError: null },
}));

/** At start-up: a link that names a lesson and no settings opens it; an unknown lesson is dropped. */
export function openLinkedLesson(search) {
  const bare = bareLesson(search);
  if (bare) applyLesson(bare);
  else if (state.scene.lesson && !findLesson(state.scene.lesson)) setScene({ lesson: null });
}

/** What in the settings is no longer the lesson's: the data or the model its text describes. */
function drift(lesson, scene) {
  return ["ds", "model"].filter((k) => (lesson.scene[k] ?? defaultScene()[k]) !== scene[k]);
}

/**
 * The lesson card: title, paragraphs and what to try, their numbers filled from the live
 * settings and the session's runs (lessonvalues.js); rebuilt when a word of it changes.
 */
export function createLessonCard(root) {
  root.addEventListener("click", (ev) => {
    if (ev.target.closest('[data-role="close-lesson"]')) applyLesson(null);
  });
  let shown = null;

  function render() {
    const { scene, runtime } = state;
    const lesson = findLesson(scene.lesson);
    root.hidden = !lesson;
    if (!lesson) {
      shown = null;
      root.replaceChildren();
      return;
    }
    const { lang } = scene;
    const texts = [...lesson.text[lang], ...lesson.try[lang]];
    const values = runtime.catalogue ? lessonValues(lesson, texts, state) : {};
    const changed = drift(lesson, scene);
    const key = JSON.stringify([lesson.id, lang, values, changed, offersSetup(runtime)]);
    if (key === shown) return;
    shown = key;
    const spans = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, h("span", { class: "value" }, v)]));
    const filled = (text) => template(text, spans);
    fill(root,
      h("div", { class: "card-head" }, h("h2", {}, lesson.title[lang]),
        h("button", { type: "button", class: "icon-btn", title: t(lang, "lesson_close"), "aria-label": t(lang, "lesson_close"), dataset: { role: "close-lesson" } }, h("span", { "aria-hidden": "true" }, "✕"))),
      changed.length ? driftNotice(lang, changed.map((k) => t(lang, `drift_${k}`)).join(", "), () => applyLesson(lesson.id)) : null,
      offersSetup(runtime) ? setupNotice(lang, restoreSetup) : null,
      lesson.text[lang].map((p) => h("p", { class: changed.length ? "drifted" : null }, filled(p))),
      h("h3", {}, t(lang, "lesson_try")),
      h("ul", { class: "try-list" }, lesson.try[lang].map((item) => h("li", {}, filled(item)))));
  }

  return { render };
}
