//! G.711 mu-law and A-law, bit-exact with the ITU-T reference (STL g711).
