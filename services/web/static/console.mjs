// The console's only page script: GOV.UK Frontend and MOJ Frontend components. Loaded as a
// module from our own origin (the Content-Security-Policy allows no inline script), so the
// classes GOV.UK's template sets inline are set here instead.
import { initAll as initGovuk } from "/assets/govuk-frontend.min.js";
import { initAll as initMoj } from "/assets/moj-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initGovuk();
initMoj();
