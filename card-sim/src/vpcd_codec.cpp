#include "vpcd_codec.hpp"

#include <stdexcept>

namespace cardperso::cardsim {

void VpcdDecoder::feed(ByteView data) {
  if (!error_.empty()) return;
  // Drop the consumed prefix before growing, so a long session does not grow the buffer forever.
  if (read_pos_ > 0 && read_pos_ == buffer_.size()) {
    buffer_.clear();
    read_pos_ = 0;
  } else if (read_pos_ > 4096) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(read_pos_));
    read_pos_ = 0;
  }
  buffer_.insert(buffer_.end(), data.begin(), data.end());
}

std::optional<VpcdMessage> VpcdDecoder::next() {
  if (!error_.empty()) return std::nullopt;
  if (buffered() < 2) return std::nullopt;
  const std::size_t length = get_u16(buffer_, read_pos_);
  // Checked before waiting for the payload: a bad length must not make us buffer anything.
  if (length == 0) {
    error_ = "vpcd sent a zero-length frame; closing the connection (is the peer really vpcd?)";
    return std::nullopt;
  }
  if (length > max_payload_) {
    error_ = "vpcd frame of " + std::to_string(length) + " bytes exceeds the limit of " +
             std::to_string(max_payload_) + "; closing the connection";
    return std::nullopt;
  }
  if (buffered() < 2 + length) return std::nullopt;
  const auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(read_pos_ + 2);
  read_pos_ += 2 + length;
  if (length == 1) {
    const std::uint8_t code = *begin;
    switch (code) {
      case 0x00: return VpcdControl::PowerOff;
      case 0x01: return VpcdControl::PowerOn;
      case 0x02: return VpcdControl::Reset;
      case 0x04: return VpcdControl::GetAtr;
      default: return VpcdUnknownControl{code};
    }
  }
  return VpcdApdu{Bytes(begin, begin + static_cast<std::ptrdiff_t>(length))};
}

Bytes encode_vpcd_reply(ByteView payload) {
  if (payload.size() > 0xFFFF) throw std::length_error("vpcd reply longer than 65535 bytes");
  Bytes out;
  out.reserve(2 + payload.size());
  put_u16(out, static_cast<std::uint16_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace cardperso::cardsim
