// Draws the KPI dashboard's charts (Chart.js, vendored) with the "solid" and "leaders" bands.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("kpi-data").textContent);
  const colours = ["#2563eb", "#7c3aed"];
  const bandColours = { solid: "rgba(234, 179, 8, 0.18)", leaders: "rgba(34, 197, 94, 0.22)" };

  // A band is two flat lines with the area between them filled.
  function band(name, range, days) {
    return [
      { label: name + " band", data: days.map(() => range[0]), borderWidth: 0, pointRadius: 0, fill: false },
      { label: name, data: days.map(() => range[1]), borderWidth: 0, pointRadius: 0,
        backgroundColor: bandColours[name], fill: "-1" },
    ];
  }

  const options = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    spanGaps: true,
    plugins: {
      legend: { labels: { filter: (item) => !item.text.endsWith(" band") } },
    },
  };

  for (const chart of data.charts) {
    const canvas = document.getElementById("chart-" + chart.id);
    let datasets = chart.datasets.map((d, i) => ({
      label: d.label, data: d.data, borderColor: colours[i], backgroundColor: colours[i], tension: 0,
    }));
    if (chart.bands) {
      datasets = datasets.concat(band("solid", chart.bands.solid, data.days), band("leaders", chart.bands.leaders, data.days));
    }
    new Chart(canvas, {
      type: "line",
      data: { labels: data.days, datasets: datasets },
      options: { ...options, plugins: { ...options.plugins, title: { display: true, text: chart.title } } },
    });
  }

  const returns = document.getElementById("chart-returns");
  if (returns) {
    new Chart(returns, {
      type: "bar",
      data: {
        labels: data.returns.map((r) => r.reason),
        datasets: [{ label: "Return rate (% of units shipped)", data: data.returns.map((r) => r.rate),
                     backgroundColor: "#f97316" }],
      },
      options: { ...options, plugins: { title: { display: true, text: "Return rate by reason" } },
                 scales: { y: { beginAtZero: true } } },
    });
  }

  new Chart(document.getElementById("chart-exceptions"), {
    type: "bar",
    data: {
      labels: data.exceptions.map((e) => e.type),
      datasets: [
        { label: "Raised", data: data.exceptions.map((e) => e.raised), backgroundColor: "#64748b", yAxisID: "y" },
        { label: "SLA attainment (%)", data: data.exceptions.map((e) => e.attainment), backgroundColor: "#22c55e",
          yAxisID: "pct" },
      ],
    },
    options: {
      ...options,
      plugins: { title: { display: true, text: "Exceptions by type: volume and SLA attainment" } },
      scales: { y: { beginAtZero: true, position: "left" }, pct: { min: 0, max: 100, position: "right" } },
    },
  });
})();
