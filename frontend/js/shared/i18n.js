// Interface text in English and Russian, one mechanism for both pages: `t(lang, key, vars)`
// reads the strings both pages show (below) and the page's own table, which the page hands
// to `useStrings` at start-up; a page's table names no key of this one. Catalogue texts
// (surface, dataset, model and hyperparameter descriptions) come from the API as it sends them.

export const COMMON = {
  en: {
    title: "Descent Lab",
    lesson: "Lesson",
    no_lesson: "Free play",
    share: "Share link",
    link_shown: "Copy this link:",
    projector: "Projector",
    palette_cb: "Colour-blind safe",
    language: "RU",
    more: "more",
    schedule: "lr schedule",
    noise: "noise σ",
    seed: "seed",
    step: "step",
    steps: "steps",
    error: "Error",
    reconnecting: "connection lost, reconnecting…",
    stream_lost: "no connection to the server",
    retry: "Retry",
    catalogue_failed: "The catalogues could not be loaded from the server",
    plotly_failed: "The plotting library could not be loaded",
    status_queued: "queued",
    status_running: "running",
    status_finished: "finished",
    status_converged: "converged",
    status_early_stopped: "stopped early",
    status_diverged: "diverged",
    status_cancelled: "cancelled",
    status_failed: "failed",
    optimizer: "Optimizer",
    hp_value: "{name}, value",
    default_is: "default {value}",
    views: "Views",
    controls: "Settings",
    family_torch: "torch.optim",
    family_community: "community (pytorch_optimizer)",
    paper: "paper",
    lesson_drift: "Changed since the lesson ({what}): its text may not fit the screen.",
    lesson_reset: "Reset the lesson",
    epoch: "epoch",
  },
  ru: {
    title: "Descent Lab",
    lesson: "Урок",
    no_lesson: "Свободная игра",
    share: "Ссылка",
    link_shown: "Скопируйте ссылку:",
    projector: "Проектор",
    palette_cb: "Для дальтоников",
    language: "EN",
    more: "ещё",
    schedule: "расписание lr",
    noise: "шум σ",
    seed: "seed",
    step: "шаг",
    steps: "шагов",
    error: "Ошибка",
    reconnecting: "связь потеряна, переподключаюсь…",
    stream_lost: "нет связи с сервером",
    retry: "Повторить",
    catalogue_failed: "Не удалось загрузить каталоги с сервера",
    plotly_failed: "Не удалось загрузить библиотеку графиков",
    status_queued: "в очереди",
    status_running: "идёт",
    status_finished: "завершён",
    status_converged: "сошёлся",
    status_early_stopped: "остановлен рано",
    status_diverged: "разошёлся",
    status_cancelled: "отменён",
    status_failed: "ошибка",
    optimizer: "Оптимизатор",
    hp_value: "{name}, значение",
    default_is: "по умолчанию {value}",
    views: "Виды",
    controls: "Настройки",
    family_torch: "torch.optim",
    family_community: "сообщество (pytorch_optimizer)",
    paper: "статья",
    lesson_drift: "Изменено после урока ({what}): текст может не совпадать с экраном.",
    lesson_reset: "Вернуть урок",
    epoch: "эпоха",
  },
};

let page = { en: {}, ru: {} }; // the page's own strings

/** The page's own strings, `{en: {...}, ru: {...}}`: set once, before the first render. */
export function useStrings(strings) {
  page = strings;
}

const lookup = (lang, key) => page[lang]?.[key] ?? COMMON[lang]?.[key];

/** The text for `key` in `lang` (else English, else the key), `{name}` filled from `vars`. */
export function t(lang, key, vars = {}) {
  const text = lookup(lang, key) ?? lookup("en", key) ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** The locale that writes numbers in `lang` (1,797 or 1 797). */
export const locale = (lang) => (lang === "ru" ? "ru-RU" : "en-US");

/** The translated status word (converged, diverged, ...). */
export function statusWord(lang, status) {
  return t(lang, `status_${status}`);
}
