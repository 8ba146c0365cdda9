// Tabs as the WAI-ARIA pattern has them: each tab controls its panel (aria-controls; the
// panel, role tabpanel, is labelled by its tab), only the selected tab is in the Tab order,
// and ←/→, Home and End move between the tabs, selecting as they go.

/**
 * Wire the tabs (role "tab", `data-tab` naming a panel) in `tablist` to their panels
 * (`data-body`); `select(name)` is called on a click or key. Returns `render(selected)`.
 */
export function createTabs(tablist, panels, select) {
  const tabs = [...tablist.querySelectorAll('[role="tab"]')];
  for (const tab of tabs) {
    const panel = panels.find((p) => p.dataset.body === tab.dataset.tab);
    tab.id = `tab-${tab.dataset.tab}`;
    panel.id = `tabpanel-${tab.dataset.tab}`;
    tab.setAttribute("aria-controls", panel.id);
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", tab.id);
    tab.addEventListener("click", () => select(tab.dataset.tab));
  }
  tablist.addEventListener("keydown", (ev) => {
    const i = tabs.indexOf(ev.target);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
    if (i < 0 || to === undefined || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    ev.preventDefault();
    const tab = tabs[(to + tabs.length) % tabs.length];
    tab.focus();
    select(tab.dataset.tab);
  });

  return function render(selected) {
    for (const tab of tabs) {
      const on = tab.dataset.tab === selected;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    for (const panel of panels) panel.hidden = panel.dataset.body !== selected;
  };
}
