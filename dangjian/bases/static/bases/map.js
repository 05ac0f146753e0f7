/* 云地图: the published sites from map.geojson on a Leaflet map, served from this platform (no CDN).
   With a tile URL (an intranet tile server) the points sit on its tiles; without one they are drawn on a
   plain background, scaled to their bounds, and stay clickable. Clicking a list entry opens its point. */
(function () {
  "use strict";
  var el = document.getElementById("base-map");
  if (!el || typeof L === "undefined") { return; }
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var map = L.map(el, { attributionControl: !!config.tiles, zoomSnap: 0.25 });
  if (map.attributionControl) { map.attributionControl.setPrefix(false); }
  if (config.tiles) {
    L.tileLayer(config.tiles, { attribution: config.attribution || "", maxZoom: 19 }).addTo(map);
  } else {
    el.classList.add("plain");
  }
  map.setView(config.center, config.zoom);
  var colours = { service_centre: "#c62828", activity_base: "#b26a00", model_site: "#6a1b9a", service_station: "#2e7d32" };
  var markers = {};

  function esc(text) {
    var d = document.createElement("div");
    d.textContent = text == null ? "" : String(text);
    return d.innerHTML;
  }

  function popup(p) {
    var html = "<strong>" + esc(p.name) + "</strong><br>" + esc(p.kind_label) +
      (p.category ? "（" + esc(p.category) + "）" : "") + "<br>" + esc(p.address) +
      "<br>开放时间：" + esc(p.hours);
    if (p.services && p.services.length) { html += "<br>服务：" + esc(p.services.join("、")); }
    if (p.phone) { html += "<br>电话：" + esc(p.phone); }
    return html + '<br><a href="' + esc(p.url) + '">' + (p.bookable ? "查看与预约" : "查看详情") + "</a>";
  }

  function highlight(id) {
    var items = document.querySelectorAll("#map-list li");
    for (var i = 0; i < items.length; i++) {
      items[i].classList.toggle("active", items[i].getAttribute("data-id") === String(id));
    }
  }

  fetch(el.getAttribute("data-geojson"), { headers: { Accept: "application/geo+json" } })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        pointToLayer: function (feature, latlng) {
          return L.circleMarker(latlng, { radius: 9, weight: 2, color: "#fff", fillOpacity: 0.9,
            fillColor: colours[feature.properties.kind] || "#c62828" });
        },
        onEachFeature: function (feature, marker) {
          markers[feature.properties.id] = marker;
          marker.bindPopup(popup(feature.properties));
          marker.bindTooltip(feature.properties.name);
          marker.on("click", function () { highlight(feature.properties.id); });
        }
      }).addTo(map);
      if (data.features.length) {
        map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 16 });
      }
      el.setAttribute("data-loaded", String(data.features.length));
    });

  document.getElementById("map-list").addEventListener("click", function (event) {
    var id = event.target.getAttribute("data-show");
    if (id && markers[id]) {
      markers[id].openPopup();  // the popup pans the map into view by itself
      highlight(id);
    }
  });
})();
