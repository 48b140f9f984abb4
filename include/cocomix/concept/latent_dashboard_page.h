// The latent dashboard as one self-contained HTML page (no network, plain JS and
// CSS), in the style of SAELens / OpenAI's sae-viewer: a searchable list of the
// latents and a page per latent (#latent-ID) with its top contexts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace cocomix {

/// The page of a latents.json document (latent_dashboard_json), the document
/// embedded as JSON in a <script type="application/json"> element with every
/// '<', '>' and '&' escaped, so no snippet can end the element.
std::string latent_dashboard_page(const nlohmann::json& document);

}  // namespace cocomix
