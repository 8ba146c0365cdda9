// Ready scenes, one per course topic. Each is a partial scene (surface, racers, ...) and a
// short explanation in English and Russian. Texts are templates filled from the live state
// ({r1.momentum}, {r0.result}, {bound}, {colour.momentum}, ...: views/lesson.js), so they
// never contradict what the sliders show; no number in them is written by hand.
// Surface, optimizer and schedule ids refer to the API's catalogues.

import { defaultRacer as R } from "./codec.js";

const withSched = (r, sched, shp) => ({ ...r, sched, shp });
const withExtras = (r, extras) => ({ ...r, ...extras });

export const LESSONS = [
  {
    id: "gd_stopping",
    title: { en: "1 · The GD step and when to stop", ru: "1 · Шаг GD и когда остановиться" },
    scene: { surface: "quadratic", steps: 200, stop: [1e-4, 0], racers: [R("sgd", { lr: 0.1 })], focus: 0, ov: { ghost: true, grad: true, mom: false, eff: false, eig: false } },
    text: {
      en: "Gradient descent repeats one move: w ← w − η·∇L(w). The black arrow is −∇L at the current point; the step is that arrow times η = {r0.lr}.\n\nA run needs a rule for stopping. Here it stops when ‖∇L‖ < {stop_grad}: {r0.result}. The other rule from the course, ‖w_k − w_{k−1}‖ < ε, is the second box under Run; on this bowl ‖Δw‖ = η·‖∇L‖, so the two rules differ only by the factor η. Try both, and watch the gradient-norm and step-length plots fall in parallel.",
      ru: "Градиентный спуск повторяет одно движение: w ← w − η·∇L(w). Чёрная стрелка — это −∇L в текущей точке; шаг равен этой стрелке, умноженной на η = {r0.lr}.\n\nНужно правило остановки. Здесь запуск останавливается, когда ‖∇L‖ < {stop_grad}: {r0.result}. Второе правило из курса, ‖w_k − w_{k−1}‖ < ε, — во втором поле раздела «Запуск»; на этой чаше ‖Δw‖ = η·‖∇L‖, так что правила отличаются лишь множителем η. Попробуйте оба и посмотрите, как параллельно падают графики нормы градиента и длины шага.",
    },
  },
  {
    id: "lr_range",
    title: { en: "2 · Learning rate: too small, right, too large", ru: "2 · Скорость обучения: мала, в самый раз, велика" },
    scene: {
      surface: "quadratic", steps: 100, stop: [1e-6, 0], focus: 3,
      racers: [R("sgd", { lr: 0.02 }), R("sgd", { lr: 0.3 }), R("sgd", { lr: 0.95 }), R("sgd", { lr: 1.02 })],
      ov: { ghost: true, grad: true, mom: false, eff: false, eig: true },
    },
    text: {
      en: "On f = x² + y² every GD step multiplies each coordinate by (1 − 2η). With η = {r0.lr} that factor is close to 1: {r0.result}. With η = {r1.lr} it is small: {r1.result}. With η = {r2.lr} it is close to −1, so the path jumps from side to side of the minimum: {r2.result}. With η = {r3.lr} the factor is below −1 and every jump is longer than the last: {r3.result}.\n\nThe curvature box explains the border: the Hessian's largest eigenvalue is λmax = {lambda_max}, and GD is stable only while η < 2/λmax = {bound}.",
      ru: "На f = x² + y² каждый шаг GD умножает каждую координату на (1 − 2η). При η = {r0.lr} множитель близок к 1: {r0.result}. При η = {r1.lr} он мал: {r1.result}. При η = {r2.lr} он близок к −1, и путь прыгает с одной стороны минимума на другую: {r2.result}. При η = {r3.lr} множитель меньше −1, и каждый прыжок длиннее предыдущего: {r3.result}.\n\nГраницу объясняет блок кривизны: наибольшее собственное число гессиана λmax = {lambda_max}, и GD устойчив, только пока η < 2/λmax = {bound}.",
    },
  },
  {
    id: "decaying_schedule",
    title: { en: "3 · A decaying step: η_i = 0.1 / i^0.3", ru: "3 · Убывающий шаг: η_i = 0.1 / i^0.3" },
    scene: {
      surface: "linear_regression", steps: 400, focus: 1,
      racers: [
        withExtras(R("sgd", { lr: 0.1 }), { batch: 1 }),
        withExtras(withSched(R("sgd", { lr: 0.1 }), "inverse_power", { power: 0.3 }), { batch: 1 }),
        withExtras(withSched(R("sgd", { lr: 0.1 }), "inverse_power", { power: 0.6 }), { batch: 1 }),
      ],
      ov: { ghost: true, grad: false, mom: false, eff: false, eig: false },
    },
    text: {
      en: "With one sample per step the gradient is noisy, and a constant η = {r0.lr} keeps the path jittering around the minimum forever. The course's rule η_i = η₀ / i^p, here {r1.lr} / i^{r1.power}, shrinks the step (see the “lr used” plot): torch runs it as LambdaLR with factor 1/(t+1)^p, so step i = t+1 uses η₀/i^p.\n\nRobbins–Monro ask for Σ η_i = ∞ (reach anywhere) and Σ η_i² < ∞ (the noise dies out), which holds for 1/2 < p ≤ 1. p = {r1.power} breaks the second condition yet works well in practice; p = {r2.power} meets both but decays so fast that it crawls: {r2.result}.",
      ru: "Когда шаг считается по одному объекту, градиент шумный, и постоянный η = {r0.lr} заставляет путь вечно дрожать около минимума. Правило из курса η_i = η₀ / i^p, здесь {r1.lr} / i^{r1.power}, уменьшает шаг (см. график «lr на шаге»): в torch это LambdaLR с множителем 1/(t+1)^p, так что шаг i = t+1 идёт с η₀/i^p.\n\nУсловия Роббинса–Монро — Σ η_i = ∞ (дойдём куда угодно) и Σ η_i² < ∞ (шум затухает) — выполняются при 1/2 < p ≤ 1. p = {r1.power} нарушает второе, но на практике работает хорошо; p = {r2.power} выполняет оба, но убывает так быстро, что путь ползёт: {r2.result}.",
    },
  },
  {
    id: "gd_sgd_minibatch",
    title: { en: "4 · GD vs SGD vs mini-batch", ru: "4 · GD, SGD и мини-батчи" },
    scene: {
      surface: "linear_regression", steps: 300, focus: 2,
      racers: [withExtras(R("sgd", { lr: 0.1 }), { batch: 200 }), withExtras(R("sgd", { lr: 0.1 }), { batch: 1 }), withExtras(R("sgd", { lr: 0.1 }), { batch: 16 })],
      ov: { ghost: true, grad: true, mom: false, eff: false, eig: false },
    },
    text: {
      en: "This surface is the course's linear regression: L(w) = (1/n)·Σ (y_i − x_iᵀw)² over n = {n_samples} samples, with w = (x, y) on the map. Batch size {r0.batch} uses every sample each step: plain GD, a smooth path, O(n) work per step. Batch size {r1.batch} is SGD: each step costs O(1) but its gradient is a one-sample guess, so the path zig-zags. Batch size {r2.batch} sits between them.\n\nAll three are unbiased estimates of the same gradient; what changes is the noise. The dotted line in the loss plot is the focused racer's mini-batch loss. Turn shuffling off to see the samples come in the same order every epoch.",
      ru: "Эта поверхность — линейная регрессия из курса: L(w) = (1/n)·Σ (y_i − x_iᵀw)² по n = {n_samples} объектам, w = (x, y) на карте. Батч {r0.batch} берёт все объекты на каждом шаге: это обычный GD, гладкий путь, O(n) работы на шаг. Батч {r1.batch} — это SGD: шаг стоит O(1), но его градиент — оценка по одному объекту, и путь петляет. Батч {r2.batch} — посередине.\n\nВсе три — несмещённые оценки одного градиента; меняется только шум. Пунктир на графике ошибки — ошибка на мини-батче у выбранного оптимизатора. Выключите перемешивание, чтобы объекты шли в одном порядке каждую эпоху.",
    },
  },
  {
    id: "saddle_noise",
    title: { en: "5 · Escaping a saddle with noise", ru: "5 · Уход из седла с помощью шума" },
    scene: {
      surface: "saddle", start: [-1.8, 0], steps: 200, focus: 0,
      racers: [R("sgd", { lr: 0.05 }), withExtras(R("sgd", { lr: 0.05 }), { noise: 0.1 })],
      ov: { ghost: true, grad: true, mom: false, eff: false, eig: true },
    },
    text: {
      en: "f = x² − y² has a saddle at the origin. Started exactly on the x-axis, the gradient has no y-part (∂f/∂y = −2y = 0), so GD never leaves the axis and settles on the saddle as if it were a minimum: {r0.result}. The curvature box shows why it is not: one eigenvalue is negative.\n\nAdding Gaussian noise σ = {r1.noise} to the gradient gives y a tiny kick; along y the surface curves down, so the kick grows and the path slides off: {r1.result} — “diverged” because this f is unbounded below. Noise in the gradient, as in SGD, is what frees a run from such points.",
      ru: "У f = x² − y² седло в начале координат. Если стартовать ровно на оси x, у градиента нет y-компоненты (∂f/∂y = −2y = 0), GD не сходит с оси и останавливается в седле, как в минимуме: {r0.result}. Блок кривизны показывает, что это не минимум: одно собственное число отрицательно.\n\nГауссов шум σ = {r1.noise} в градиенте даёт y маленький толчок; вдоль y поверхность изогнута вниз, толчок растёт, и путь соскальзывает: {r1.result} — «разошёлся», потому что f не ограничена снизу. Шум в градиенте, как в SGD, и освобождает спуск из таких точек.",
    },
  },
  {
    id: "momentum_ravine",
    title: { en: "6 · Momentum through a ravine", ru: "6 · Импульс в овраге" },
    scene: {
      surface: "ravine", steps: 150, focus: 1,
      racers: [R("sgd", { lr: 0.02 }), R("sgd", { lr: 0.02, momentum: 0.9 }), R("sgd", { lr: 0.02, momentum: 0.9, nesterov: true })],
      ov: { ghost: true, grad: true, mom: true, eff: false, eig: false },
    },
    text: {
      en: "The ravine f = ½(x² + 50y²) is κ = {kappa} times steeper across than along. η must stay below 2/λmax = {bound} for the steep y-direction, so along x plain GD moves only a fraction η = {r0.lr} of the way per step: {r0.result}.\n\nMomentum (μ = {r1.momentum}) keeps a running sum b ← μ·b + ∇L and steps w ← w − η·b. Along x the gradients agree and b grows to about 1/(1−μ) = {r1.momentum_gain} gradients; across the ravine they alternate in sign and cancel. The {colour.momentum} arrow (b) is much longer than the black one (−∇L) and points down the valley: {r1.result}. Nesterov evaluates the look-ahead: {r2.result}.\n\nThe slides write u ← γu + η∇L, w ← w − u. That is torch's rule with u = η·b as long as η is constant; with a schedule they differ, because torch rescales the whole buffer by the new η at once.",
      ru: "Овраг f = ½(x² + 50y²) поперёк в κ = {kappa} раз круче, чем вдоль. η должен быть меньше 2/λmax = {bound} из-за крутого направления y, поэтому вдоль x обычный GD проходит за шаг лишь долю η = {r0.lr} пути: {r0.result}.\n\nИмпульс (μ = {r1.momentum}) копит сумму b ← μ·b + ∇L и шагает w ← w − η·b. Вдоль x градиенты согласны, и b растёт примерно до 1/(1−μ) = {r1.momentum_gain} градиентов; поперёк оврага они чередуют знак и гасят друг друга. Стрелка b ({colour.momentum}) гораздо длиннее чёрной (−∇L) и смотрит вдоль долины: {r1.result}. Нестеров считает градиент «с заглядыванием вперёд»: {r2.result}.\n\nНа слайдах u ← γu + η∇L, w ← w − u. Это правило torch с u = η·b, пока η постоянен; с расписанием они различаются: torch сразу масштабирует весь буфер новым η.",
    },
  },
  {
    id: "adagrad_rmsprop",
    title: { en: "7 · AdaGrad's shrinking steps vs RMSprop", ru: "7 · Затухающие шаги AdaGrad и RMSprop" },
    scene: {
      surface: "ravine", steps: 300, focus: 0,
      racers: [R("adagrad", { lr: 0.5 }), R("rmsprop", { lr: 0.05 })],
      ov: { ghost: true, grad: false, mom: false, eff: true, eig: false },
    },
    text: {
      en: "Adaptive methods give each coordinate its own step: η divided by the root of the squared gradients seen on that axis. The {colour.effective} ellipse at the head has the per-axis step sizes as its radii, and the “lr used” plot shows them as dotted (x) and dashed (y) lines for the focused racer.\n\nAdaGrad sums all squared gradients, s ← s + g², so the sum only grows and the steps only shrink, on both axes: {r0.result}. RMSprop keeps a moving average with α = {r1.alpha}, v ← α·v + (1−α)·g², which forgets old gradients, so its steps stop shrinking once the gradients do: {r1.result}. (torch adds ε outside the root, η·g/(√s + ε); the slides put it inside.)",
      ru: "Адаптивные методы дают каждой координате свой шаг: η делится на корень из квадратов градиентов по этой оси. Эллипс у точки ({colour.effective}) имеет радиусами шаги по осям, а график «lr на шаге» показывает их пунктиром (x) и штрихами (y) для выбранного оптимизатора.\n\nAdaGrad суммирует все квадраты градиентов, s ← s + g², сумма только растёт, и шаги только уменьшаются — по обеим осям: {r0.result}. RMSprop хранит скользящее среднее с α = {r1.alpha}, v ← α·v + (1−α)·g², которое забывает старые градиенты, и его шаги перестают уменьшаться, когда уменьшаются градиенты: {r1.result}. (torch добавляет ε вне корня, η·g/(√s + ε); на слайдах — под корнем.)",
    },
  },
  {
    id: "adam_rosenbrock",
    title: { en: "8 · Adam vs SGD on Rosenbrock", ru: "8 · Adam и SGD на Розенброке" },
    scene: {
      surface: "rosenbrock", steps: 600, focus: 2,
      racers: [R("sgd", { lr: 0.001 }), R("sgd", { lr: 0.001, momentum: 0.9 }), R("adam", { lr: 0.1 })],
      ov: { ghost: true, grad: false, mom: true, eff: true, eig: false },
    },
    text: {
      en: "Rosenbrock's minimum (1, 1) lies at the end of a long curved valley with steep walls. Plain SGD must keep η = {r0.lr} small for the walls and then creeps along the floor: {r0.result}. Momentum builds speed along the floor: {r1.result}. Adam (η = {r2.lr}, β = {r2.betas}) combines a first-moment average (the purple arrow) with per-axis scaling: {r2.result}.\n\ntorch's Adam divides the averages by (1 − β₁ᵗ) and (1 − β₂ᵗ) — a bias correction that matters in the first few hundred steps, while the averages still start from zero. The course slides divide by (1 − β) instead, a constant; the page always runs torch's rule.",
      ru: "Минимум Розенброка (1, 1) лежит в конце длинной изогнутой долины с крутыми стенками. Обычному SGD приходится держать η = {r0.lr} малым из-за стенок, и по дну он ползёт: {r0.result}. Импульс набирает скорость вдоль дна: {r1.result}. Adam (η = {r2.lr}, β = {r2.betas}) сочетает среднее первых моментов (фиолетовая стрелка) с масштабом по осям: {r2.result}.\n\nAdam в torch делит средние на (1 − β₁ᵗ) и (1 − β₂ᵗ) — поправка смещения, важная в первые сотни шагов, пока средние ещё стартуют с нуля. На слайдах курса деление на (1 − β), то есть на константу; страница всегда считает по правилу torch.",
    },
  },
  {
    id: "rotated_ravine",
    title: { en: "9 · Rotated ravine: adaptivity is per axis", ru: "9 · Повёрнутый овраг: адаптивность — по осям" },
    scene: {
      surface: "ravine_rotated", steps: 150, focus: 2,
      racers: [R("sgd", { lr: 0.02, momentum: 0.9 }), R("rmsprop", { lr: 0.05 }), R("adam", { lr: 0.3 })],
      ov: { ghost: true, grad: false, mom: false, eff: true, eig: true },
    },
    text: {
      en: "The same ravine as lesson 6, turned by 45°. Momentum does not care about the rotation: {r0.result}, exactly as on the aligned ravine. RMSprop and Adam rescale x and y separately — but now the steep and the flat directions each mix both coordinates, so there is no axis to slow down on its own. The {colour.effective} ellipse stays nearly round: {r1.result}; {r2.result}.\n\nSwitch the surface to the aligned ravine with the same optimizers and compare. The Hessian axes ({colour.curving_up}) show the directions that matter; per-coordinate methods see only x and y.",
      ru: "Тот же овраг, что в уроке 6, повёрнутый на 45°. Импульсу поворот безразличен: {r0.result}, как и на неповёрнутом овраге. RMSprop и Adam масштабируют x и y по отдельности — но теперь крутое и пологое направления смешивают обе координаты, и нет оси, которую можно замедлить отдельно. Эллипс ({colour.effective}) почти круглый: {r1.result}; {r2.result}.\n\nПереключите поверхность на неповёрнутый овраг с теми же оптимизаторами и сравните. Оси гессиана ({colour.curving_up}) показывают важные направления; покоординатные методы видят только x и y.",
    },
  },
  {
    id: "stability_bound",
    title: { en: "10 · Why a step size blows up: 2/λmax", ru: "10 · Почему шаг «взрывается»: 2/λmax" },
    scene: {
      surface: "ravine", steps: 150, focus: 1,
      racers: [R("sgd", { lr: 0.039 }), R("sgd", { lr: 0.041 })],
      ov: { ghost: true, grad: true, mom: false, eff: false, eig: true },
    },
    text: {
      en: "Near a point, f looks like a quadratic with Hessian H. Along the eigenvector of the largest eigenvalue λmax, one GD step multiplies the error by (1 − η·λmax); it shrinks only while η < 2/λmax. The curvature box computes H by autograd at the focused racer's point and prints that bound next to its lr.\n\nHere λmax = {lambda_max}, so the bound is {bound}. η = {r0.lr} is just inside: the y-coordinate flips sign every step but shrinks — {r0.result}. η = {r1.lr} is just outside: the flips grow — {r1.result}. Scrub back to watch where it starts.",
      ru: "Вблизи точки f похожа на квадратичную функцию с гессианом H. Вдоль собственного вектора наибольшего собственного числа λmax один шаг GD умножает ошибку на (1 − η·λmax); она уменьшается, только пока η < 2/λmax. Блок кривизны считает H через autograd в точке выбранного оптимизатора и пишет эту границу рядом с его lr.\n\nЗдесь λmax = {lambda_max}, граница {bound}. η = {r0.lr} чуть внутри: координата y каждый шаг меняет знак, но уменьшается — {r0.result}. η = {r1.lr} чуть снаружи: скачки растут — {r1.result}. Прокрутите назад, чтобы увидеть, где это начинается.",
    },
  },
  {
    id: "regime_momentum",
    title: { en: "11 · Regime map: lr × momentum", ru: "11 · Карта режимов: lr × импульс" },
    scene: {
      surface: "ravine", steps: 150, focus: 0, panel: "regime",
      racers: [R("sgd", { lr: 0.02, momentum: 0.9 })],
      regime: { racer: 0, x: "lr", y: "momentum", x0: 0.001, x1: 0.2, y0: 0, y1: 0.98, xlog: true, ylog: false, nx: 24, ny: 16, metric: "loss" },
      ov: { ghost: true, grad: true, mom: true, eff: false, eig: false },
    },
    text: {
      en: "Each cell of the map is a full run of SGD from the same start with that (lr, momentum), all computed as one batched torch run; colour is the final loss, grey means diverged. Click any cell to play it.\n\nWithout momentum the stable region ends at lr = 2/λmax = {bound}. With momentum μ it stretches to 2(1 + μ)/λmax, and the fastest runs lie along a diagonal: a larger μ wants a smaller lr. Change the metric to “steps to stop”, or the axes to any other float hyperparameter.",
      ru: "Каждая клетка — полный запуск SGD из одной точки с этими (lr, импульс), все посчитаны одним пакетным запуском torch; цвет — итоговая ошибка, серое — расходимость. Щёлкните по клетке, чтобы проиграть её.\n\nБез импульса устойчивая область кончается на lr = 2/λmax = {bound}. С импульсом μ она растягивается до 2(1 + μ)/λmax, а самые быстрые запуски лежат вдоль диагонали: больше μ — меньше lr. Смените цвет на «шагов до остановки» или оси на другие вещественные гиперпараметры.",
    },
  },
  {
    id: "basins",
    title: { en: "12 · Many minima: basins of attraction", ru: "12 · Много минимумов: бассейны притяжения" },
    scene: {
      surface: "himmelblau", steps: 200, focus: 0, panel: "basins",
      racers: [R("sgd", { lr: 0.01 }), R("sgd", { lr: 0.01, momentum: 0.9 })],
      basins: { racer: 0, n: 60 },
      ov: { ghost: true, grad: true, mom: true, eff: false, eig: false },
    },
    text: {
      en: "Himmelblau's function has four minima of equal depth. Which one a run finds depends only on where it starts — and on the optimizer. The basin map runs {basin_starts} starts at once and colours each by the minimum it reaches.\n\nWith plain GD the basins are bounded by the ridges between the minima. Pick the momentum racer in the map's menu: the borders move and interleave, because momentum can carry a run over a ridge. Click a pixel to start there. On Rastrigin, with dozens of local minima and only the global one known, most starts end “elsewhere”.",
      ru: "У функции Химмельблау четыре одинаково глубоких минимума. Какой найдёт спуск, зависит только от старта — и от оптимизатора. Карта бассейнов запускает сразу {basin_starts} стартов и красит каждый по минимуму, в который он пришёл.\n\nУ обычного GD границы бассейнов идут по хребтам между минимумами. Выберите в меню карты оптимизатор с импульсом: границы сдвигаются и переплетаются, потому что импульс может перенести спуск через хребет. Щёлкните по пикселю, чтобы стартовать оттуда. На Растригине, где десятки локальных минимумов и известен только глобальный, большинство стартов заканчиваются «в другом месте».",
    },
  },
  {
    id: "new_optimizers",
    title: { en: "13 · New optimizers: Lion, Adam and Schedule-Free AdamW", ru: "13 · Новые оптимизаторы: Lion, Adam и Schedule-Free AdamW" },
    scene: {
      surface: "rosenbrock", steps: 600, focus: 1,
      racers: [R("adam", { lr: 0.1 }), R("lion", { lr: 0.01 }), R("schedulefree_adamw", { lr: 0.05 })],
      ov: { ghost: true, grad: false, mom: true, eff: false, eig: false },
    },
    text: {
      en: "Three rules in Rosenbrock's curved valley. Adam (η = {r0.lr}) scales each coordinate by its own gradient history: {r0.result}. Lion (η = {r1.lr}) keeps only the sign of a blend of momentum and gradient, so every coordinate moves by exactly ±η each step, however steep or flat the ground: {r1.result}. Schedule-Free AdamW (η = {r2.lr}) takes Adam-scaled steps on a point z, averages the z's into x and takes each gradient at y, between the two (the path drawn is y); it settles without an lr schedule: {r2.result}.\n\nNow switch the surface to “Ravine (κ = 50)”. Adam and Schedule-Free shrink the steep axis's step and run down the flat one. Lion still covers exactly η per step, so from x = −9 it needs 9/η steps whatever the gradient says; raise its lr and it arrives sooner but hops by ±η around the minimum. That is why Lion's authors use an lr 3–10× smaller than Adam's. Lion and Schedule-Free come from the community's pytorch_optimizer (the “community” group of the menu); the line under each menu gives the update rule and the paper.",
      ru: "Три правила в изогнутой долине Розенброка. Adam (η = {r0.lr}) масштабирует каждую координату по её собственной истории градиентов: {r0.result}. Lion (η = {r1.lr}) оставляет лишь знак смеси момента и градиента, так что каждая координата сдвигается ровно на ±η за шаг, как бы круто или полого ни было вокруг: {r1.result}. Schedule-Free AdamW (η = {r2.lr}) делает шаги Adam по точке z, усредняет точки z в x и берёт каждый градиент в y между ними (рисуется путь y); он успокаивается без расписания lr: {r2.result}.\n\nТеперь переключите поверхность на «Ravine (κ = 50)». Adam и Schedule-Free уменьшают шаг по крутой оси и бегут вдоль пологой. Lion по-прежнему проходит ровно η за шаг, так что от x = −9 ему нужно 9/η шагов, что бы ни говорил градиент; увеличьте его lr — он придёт быстрее, но будет прыгать на ±η вокруг минимума. Поэтому авторы Lion берут lr в 3–10 раз меньше, чем у Adam. Lion и Schedule-Free взяты из pytorch_optimizer сообщества (группа «сообщество» в меню); строка под каждым меню даёт правило обновления и статью.",
    },
  },
];
