#!/usr/bin/python3
"""Known-answer vectors for the cardperso wire protocol, computed from proto/PROTOCOL.md alone with
python3-cryptography (Debian package), independently of the C++ code.

Run:  /usr/bin/python3 proto/kat/make_vectors.py > proto/kat/vectors.txt
The unit test tests/unit/proto/kat_test.cpp checks the C++ implementation against vectors.txt.
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def seq(start):
    return bytes((start + i) & 0xFF for i in range(16))


K_RA, K_IA, K_S, K_D = seq(0x00), seq(0xF0), seq(0xE0), seq(0xD0)
RN = {i: seq(0x10 * i) for i in range(1, 7)}  # RN1 = 10..1f, ..., RN6 = 60..6f
SERIAL = b"89440012345678901"
KEY_VERSION = 1
SESSION = 0x2A
VERSION = 2
# The ephemeral X25519 private keys: RFC 7748 section 6.1's Alice (STE) and Bob (ADS).
E_STE = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
E_ADS = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
# The terminal's Ed25519 device key: RFC 8032 section 7.1, test 1.
DEVICE = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


def aes_block(key, block):
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def header(channel, mtype, flags, session, length):
    # magic 'CP', version, channel, type, flags, reserved u16, session u32, length u32
    return b"CP" + struct.pack(">BBBBHII", VERSION, channel, mtype, flags, 0, session, length)


def x25519_public(private):
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def hkdf(salt, ikm, info):
    return HKDF(algorithm=hashes.SHA256(), length=16, salt=salt, info=info).derive(ikm)


def item(tag, value):
    return bytes([tag]) + struct.pack(">H", len(value)) + value


def confirm(sk, label, th):
    return hmac.new(sk, label.encode() + th, hashlib.sha256).digest()[:16]


def seal(key, direction, counter, channel, mtype, session, th, plaintext):
    length = 8 + len(plaintext) + 16
    hdr = header(channel, mtype, 0x01, session, length)
    nonce = struct.pack(">IQ", direction, counter)
    sealed = AESGCM(key).encrypt(nonce, plaintext, hdr + th)
    return hdr + struct.pack(">Q", counter) + sealed


share_ste, share_ads = x25519_public(E_STE), x25519_public(E_ADS)
z = X25519PrivateKey.from_private_bytes(E_STE).exchange(X25519PrivateKey.from_private_bytes(E_ADS).public_key())
device = Ed25519PrivateKey.from_private_bytes(DEVICE)
device_public = device.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
h1 = bytes([VERSION, KEY_VERSION, len(SERIAL)]) + SERIAL + RN[2] + RN[4] + RN[6] + share_ste + device_public
h2 = struct.pack(">I", SESSION) + RN[1] + RN[3] + RN[5] + share_ads
rc = aes_block(K_RA, RN[1])
ic = aes_block(K_IA, RN[2])
input_s = aes_block(K_S, xor(RN[3], RN[4]))
input_d = aes_block(K_D, xor(RN[5], RN[6]))
first = b"cardperso v2 transcript" + item(1, h1) + item(2, struct.pack(">I", SESSION)) + item(3, h2)
th2 = hashlib.sha256(first).digest()
sk_s = hkdf(th2, input_s + z, b"cardperso v2 SK_S")
sk_d = hkdf(th2, input_d + z, b"cardperso v2 SK_D")
common = first + item(4, rc)
th3 = hashlib.sha256(common).digest()
th4 = hashlib.sha256(common + item(5, ic)).digest()
terminal_signature = device.sign(b"cardperso v2 terminal" + th3)

ECHO = 0x29
STE_TO_ADS, ADS_TO_STE, DTD_TO_ADS, ADS_TO_DTD = 1, 2, 3, 4
plaintext = b"cardperso echo"

vectors = [
    ("k_ra", K_RA), ("k_ia", K_IA), ("k_s", K_S), ("k_d", K_D),
    *[(f"rn{i}", RN[i]) for i in range(1, 7)],
    ("serial", SERIAL), ("key_version", bytes([KEY_VERSION])), ("session", struct.pack(">I", SESSION)),
    ("e_ste", E_STE), ("e_ads", E_ADS), ("share_ste", share_ste), ("share_ads", share_ads), ("x25519_secret", z),
    ("h1_payload", h1), ("h2_payload", h2),
    ("retailer_cryptogram", rc), ("issuer_cryptogram", ic),
    ("input_s", input_s), ("input_d", input_d), ("transcript_h2", th2),
    ("sk_s", sk_s), ("sk_d", sk_d),
    ("transcript_h3", th3), ("transcript_h4", th4),
    ("device_key", DEVICE), ("device_public", device_public), ("terminal_signature", terminal_signature),
    ("confirm_s_ste", confirm(sk_s, "cardperso v2 confirm SK_S by STE", th3)),
    ("confirm_d_ste", confirm(sk_d, "cardperso v2 confirm SK_D by STE", th3)),
    ("confirm_s_ads", confirm(sk_s, "cardperso v2 confirm SK_S by ADS", th4)),
    ("confirm_d_ads", confirm(sk_d, "cardperso v2 confirm SK_D by ADS", th4)),
    ("echo_plaintext", plaintext),
    # First sealed frame on each channel, counter 0, Echo with the plaintext above.
    ("sealed_ste_to_ads", seal(sk_s, STE_TO_ADS, 0, 1, ECHO, SESSION, th4, plaintext)),
    ("sealed_dtd_to_ads", seal(sk_d, DTD_TO_ADS, 0, 2, ECHO, SESSION, th4, plaintext)),
]

print("# cardperso protocol v2 known-answer vectors; generated by proto/kat/make_vectors.py (do not edit)")
for name, value in vectors:
    print(f"{name} = {value.hex()}")
